import { describe, expect, it } from 'vitest';
import { parseChainSpec, withDisclosure } from '../transforms/chain-spec.js';
import { I420Frame } from '../transforms/frame.js';
import { createTransform } from '../transforms/transform-factory.js';
import { Sketch, sketchParams, type SketchParams } from '../transforms/sketch.js';
import { psnr } from './helpers/ffmpeg-fixtures.js';
import { lumaRow, oddPatternFrame, patternFrame } from './helpers/test-frames.js';

const clockAt = (frameIndex: number) => ({ frameIndex, frameIntervalMs: 33 });

function sketch(params: Partial<SketchParams>): Sketch {
  const transform = new Sketch();
  transform.configure(sketchParams.parse(params));
  return transform;
}

/** Luma `left` in columns < split and `right` from it on; chroma coloured so greying shows. */
function stepFrame(width: number, height: number, split: number, left: number, right: number): I420Frame {
  const frame = new I420Frame(width, height);
  for (let row = 0; row < height; row++) for (let column = 0; column < width; column++) frame.y[row * width + column] = column < split ? left : right;
  frame.u.fill(90);
  frame.v.fill(200);
  return frame;
}

const row = lumaRow;

describe('sketch', () => {
  it('turns a flat area into white paper and the frame grey (U = V = 128)', () => {
    const frame = stepFrame(64, 32, 64, 100, 0);
    sketch({ paper: 0 }).apply(frame, clockAt(0));
    // Flat: luma / blurred luma = 1, the dodge saturates at 255 → the top of the video range.
    expect(new Set(frame.y)).toEqual(new Set([235]));
    expect(new Set(frame.u)).toEqual(new Set([128]));
    expect(new Set(frame.v)).toEqual(new Set([128]));
  });

  it('draws a stroke on the dark side of a step, as wide as the blur, and nothing elsewhere', () => {
    const frame = stepFrame(64, 16, 32, 50, 200);
    sketch({ paper: 0, blur: 2, strength: 0.6 }).apply(frame, clockAt(0));
    // Full range: 50 → 40, 200 → 214. Column 31 blurs columns 29…33: (3·40 + 2·214) / 5 = 110;
    // dodge (40 + 20) · 255 / (110 + 20) = 118; tone 16 + 219 · (118/255)^3.4 = 31.9 → 32.
    // Column 30 blurs 4 dark and 1 bright: 75 → dodge 161 → 16 + 219 · (161/255)^3.4 = 61.9 → 62.
    // The bright side divides by less than itself: white.
    const expected = Array.from({ length: 64 }, (_, column) => (column === 30 ? 62 : column === 31 ? 32 : 235));
    for (let index = 0; index < 16; index++) expect(row(frame, index)).toEqual(expected);
  });

  it('darkens strokes with strength and draws the same paper for the same seed, on every frame', () => {
    const render = (params: Partial<SketchParams>, frameIndex = 0) => {
      const frame = patternFrame(320, 180);
      sketch(params).apply(frame, clockAt(frameIndex));
      return frame;
    };
    const mean = (frame: I420Frame) => frame.y.reduce((sum, value) => sum + value, 0) / frame.y.length;
    expect(mean(render({ strength: 1, paper: 0 }))).toBeLessThan(mean(render({ strength: 0, paper: 0 })));
    expect(render({ seed: 7 }).buffer.equals(render({ seed: 7 }, 5).buffer)).toBe(true);
    expect(render({ seed: 7 }).buffer.equals(render({ seed: 8 }).buffer)).toBe(false);
    // Paper only darkens, and by at most 24 levels at paper = 1.
    const clean = render({ paper: 0 });
    const textured = render({ paper: 1 });
    let deepest = 0;
    for (let index = 0; index < clean.y.length; index++) deepest = Math.max(deepest, clean.y[index]! - textured.y[index]!);
    expect(textured.y.every((value, index) => value <= clean.y[index]!)).toBe(true);
    expect(deepest).toBeGreaterThan(8);
    expect(deepest).toBeLessThanOrEqual(24);
  });

  it('at half resolution stays close to the full-resolution look on a real 720p frame', () => {
    const full = patternFrame(1280, 720);
    const half = patternFrame(1280, 720);
    sketch({ resolution: 'full' }).apply(full, clockAt(0));
    sketch({ resolution: 'half' }).apply(half, clockAt(0));
    expect(half.buffer.equals(full.buffer)).toBe(false);
    const lumaPsnr = psnr(half.y, full.y);
    console.log(`sketch half vs full resolution, testsrc2 720p: luma PSNR ${lumaPsnr.toFixed(1)} dB`);
    expect(lumaPsnr).toBeGreaterThan(25);
    expect(new Set(half.u)).toEqual(new Set([128]));
  });

  it('handles odd frame sizes at both resolutions', () => {
    const full = oddPatternFrame(321, 181);
    const half = oddPatternFrame(321, 181);
    sketch({ resolution: 'full' }).apply(full, clockAt(0));
    sketch({ resolution: 'half' }).apply(half, clockAt(0));
    expect(psnr(half.y, full.y)).toBeGreaterThan(22);
    expect(new Set(full.v)).toEqual(new Set([128]));
  });

  it('refuses bad parameters with the field named, and carries the AI disclosure', () => {
    expect(parseChainSpec({ transforms: [{ name: 'sketch', params: { blur: 0 } }] })).toMatchObject({ ok: false, error: expect.stringMatching(/^transforms\.0\.params\.blur: /) });
    expect(parseChainSpec({ transforms: [{ name: 'sketch', params: { paper: 2 } }] })).toMatchObject({ ok: false, error: expect.stringMatching(/^transforms\.0\.params\.paper: /) });
    expect(parseChainSpec({ transforms: [{ name: 'sketch', params: { blur: 2.5 } }] })).toMatchObject({ ok: false });
    const parsed = parseChainSpec({ transforms: [{ name: 'sketch' }] });
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.spec.transforms[0]!.params).toEqual({ strength: 0.6, blur: 6, paper: 0.3, seed: 1, resolution: 'auto' });
    const built = createTransform({ ...parsed.spec.transforms[0]!, params: { ...parsed.spec.transforms[0]!.params, resolution: 'half' } }, { lutDir: '.', imageDir: '.' });
    expect(built).toBeInstanceOf(Sketch);
    expect(built.resolution?.active).toBe(true);
    expect(withDisclosure(parsed.spec).labelAdded).toBe(true);
  });
});
