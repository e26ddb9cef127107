import { describe, expect, it } from 'vitest';
import { parseChainSpec, withDisclosure } from '../transforms/chain-spec.js';
import { I420Frame } from '../transforms/frame.js';
import { createTransform } from '../transforms/transform-factory.js';
import { Toon, toonParams, type ToonParams } from '../transforms/toon.js';
import { psnr } from './helpers/ffmpeg-fixtures.js';
import { lumaRow, oddPatternFrame, patternFrame } from './helpers/test-frames.js';

const clock = { frameIndex: 0, frameIntervalMs: 33 };

function toon(params: Partial<ToonParams>): Toon {
  const transform = new Toon();
  transform.configure(toonParams.parse(params));
  return transform;
}

/** A width×height frame: luma `left` in columns < split and `right` from it on; chroma likewise at half size. */
function stepFrame(width: number, height: number, split: number, left: [number, number, number], right: [number, number, number]): I420Frame {
  const frame = new I420Frame(width, height);
  for (let row = 0; row < height; row++) for (let column = 0; column < width; column++) frame.y[row * width + column] = column < split ? left[0] : right[0];
  const chromaWidth = width / 2;
  for (let row = 0; row < height / 2; row++)
    for (let column = 0; column < chromaWidth; column++) {
      frame.u[row * chromaWidth + column] = 2 * column < split ? left[1] : right[1];
      frame.v[row * chromaWidth + column] = 2 * column < split ? left[2] : right[2];
    }
  return frame;
}

const row = lumaRow;

describe('toon', () => {
  it('posterizes a flat area to the centre of its band and leaves it flat, with chroma boosted', () => {
    const frame = stepFrame(32, 16, 32, [100, 100, 160], [0, 0, 0]);
    toon({ levels: 4, saturation: 1.5 }).apply(frame, clock);
    // (100 − 16) / 219 = 0.38 → band 1 of 4, centre 16 + 219 · 1.5 / 4 = 98.1.
    expect(new Set(frame.y)).toEqual(new Set([98]));
    // 128 + (100 − 128) · 1.5 = 86 and 128 + 32 · 1.5 = 176; no edges, so no ink.
    expect(new Set(frame.u)).toEqual(new Set([86]));
    expect(new Set(frame.v)).toEqual(new Set([176]));
  });

  it('draws a dark line on both sides of a hard step and nowhere else', () => {
    const frame = stepFrame(64, 16, 32, [50, 90, 128], [200, 170, 128]);
    toon({ levels: 5, saturation: 1, edgeThreshold: 24, edgeStrength: 0.85 }).apply(frame, clock);
    // Bands: 50 → band 0, centre 37.9 → 38; 200 → band 4, centre 213.1 → 213. Sobel / 4 reads the
    // step of 150 at columns 31 and 32, over twice the threshold: gain round(256 · 0.15) = 38, so
    // 16 + (22 · 38 >> 8) = 19 and 16 + (197 · 38 >> 8) = 45.
    const expected = Array.from({ length: 64 }, (_, column) => (column < 31 ? 38 : column === 31 ? 19 : column === 32 ? 45 : 213));
    for (let index = 0; index < 16; index++) expect(row(frame, index)).toEqual(expected);
    // Chroma column 16 sits on luma column 32, under the line: pulled to grey by the same gain.
    const chroma = [...frame.u.subarray(0, 32)];
    expect(chroma).toEqual(Array.from({ length: 32 }, (_, column) => (column < 16 ? 90 : column === 16 ? 128 + ((42 * 38) >> 8) : 170)));
  });

  it('keeps the step sharp through smoothing, and draws no line when the step is under the threshold', () => {
    const soft = stepFrame(64, 16, 32, [100, 128, 128], [115, 128, 128]);
    toon({ levels: 16, edgeThreshold: 24, smoothing: 0 }).apply(soft, clock);
    // A step of 15 < 24: no ink; 100 → band 6 (centre 105.0 → 105), 115 → band 7 (centre 118.7 → 119).
    expect(row(soft, 8)).toEqual(Array.from({ length: 64 }, (_, column) => (column < 32 ? 105 : 119)));
    const hard = stepFrame(64, 16, 32, [50, 128, 128], [200, 128, 128]);
    toon({ levels: 5, smoothing: 4, edgeStrength: 0 }).apply(hard, clock);
    // Four smoothing passes do not bleed across a step of 150.
    expect(row(hard, 8)).toEqual(Array.from({ length: 64 }, (_, column) => (column < 32 ? 38 : 213)));
  });

  it('gives the same picture for the same input, and a cartoon of a real frame (flat bands, dark lines)', () => {
    const first = patternFrame(640, 360);
    const second = patternFrame(640, 360);
    const original = Buffer.from(first.buffer);
    toon({}).apply(first, clock);
    toon({}).apply(second, clock);
    expect(first.buffer.equals(second.buffer)).toBe(true);
    expect(first.buffer.equals(original)).toBe(false);
    // Five bands plus inked samples: far fewer distinct luma values than the input has.
    const before = new Set(original.subarray(0, 640 * 360)).size;
    const after = new Set(first.y).size;
    expect(after).toBeLessThan(before / 2);
    const dark = first.y.filter((value) => value < 40).length;
    expect(dark).toBeGreaterThan(640 * 360 * 0.01);
  });

  it('at half resolution stays close to the full-resolution look on a real 720p frame', () => {
    const full = patternFrame(1280, 720);
    const half = patternFrame(1280, 720);
    toon({ resolution: 'full' }).apply(full, clock);
    const halfToon = toon({ resolution: 'half' });
    expect(halfToon.resolution.active).toBe(true);
    halfToon.apply(half, clock);
    expect(half.buffer.equals(full.buffer)).toBe(false);
    const lumaPsnr = psnr(half.y, full.y);
    const chromaPsnr = psnr(half.u, full.u);
    console.log(`toon half vs full resolution, testsrc2 720p: luma PSNR ${lumaPsnr.toFixed(1)} dB, U ${chromaPsnr.toFixed(1)} dB`);
    // Measured 27.4 dB and 27.8 dB: thicker, softer lines, the same bands.
    expect(lumaPsnr).toBeGreaterThan(25);
    expect(chromaPsnr).toBeGreaterThan(25);
  });

  it('handles odd frame sizes at both resolutions (last row and column included)', () => {
    const full = oddPatternFrame(321, 181);
    const half = oddPatternFrame(321, 181);
    toon({ resolution: 'full' }).apply(full, clock);
    toon({ resolution: 'half' }).apply(half, clock);
    expect(psnr(half.y, full.y)).toBeGreaterThan(22);
    expect(psnr(half.v, full.v)).toBeGreaterThan(22);
    // The bottom-right samples come from the picture, not from reads past the end (which would give 0 → black).
    expect(full.y[full.y.length - 1]).toBe(half.y[half.y.length - 1]);
  });

  it('switches resolution at the chain’s request without reconfiguring, when left on auto', () => {
    const transform = toon({});
    const frame = patternFrame(640, 360);
    transform.apply(frame, clock);
    transform.resolution.request(true);
    const atHalf = patternFrame(640, 360);
    transform.apply(atHalf, clock);
    const reference = patternFrame(640, 360);
    toon({ resolution: 'half' }).apply(reference, clock);
    expect(atHalf.buffer.equals(reference.buffer)).toBe(true);
    const fixed = toon({ resolution: 'full' });
    fixed.resolution.request(true);
    expect(fixed.resolution.active).toBe(false);
  });

  it('refuses bad parameters with the field named, and carries the AI disclosure', () => {
    expect(parseChainSpec({ transforms: [{ name: 'toon', params: { levels: 1 } }] })).toMatchObject({ ok: false, error: expect.stringMatching(/^transforms\.0\.params\.levels: /) });
    expect(parseChainSpec({ transforms: [{ name: 'toon', params: { resolution: 'quarter' } }] })).toMatchObject({ ok: false, error: expect.stringMatching(/^transforms\.0\.params\.resolution: /) });
    expect(parseChainSpec({ transforms: [{ name: 'toon', params: { outline: 2 } }] })).toMatchObject({ ok: false });
    const parsed = parseChainSpec({ transforms: [{ name: 'toon' }] });
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.spec.transforms[0]!.params).toEqual({ levels: 5, edgeThreshold: 24, edgeStrength: 0.85, smoothing: 1, saturation: 1.3, resolution: 'auto' });
    const built = createTransform({ ...parsed.spec.transforms[0]!, params: { ...parsed.spec.transforms[0]!.params, resolution: 'half' } }, { lutDir: '.', imageDir: '.' });
    expect(built).toBeInstanceOf(Toon);
    expect(built.resolution?.active).toBe(true);
    expect(withDisclosure(parsed.spec).spec.transforms.map((entry) => entry.name)).toEqual(['toon', 'label']);
  });
});
