import { describe, expect, it } from 'vitest';
import { withDisclosure, parseChainSpec } from '../transforms/chain-spec.js';
import { I420Frame } from '../transforms/frame.js';
import { Grain, grainParams } from '../transforms/grain.js';
import { Pixelate, pixelateParams } from '../transforms/pixelate.js';
import { Vignette, vignetteParams } from '../transforms/vignette.js';
import { testPatternFrame } from './helpers/ffmpeg-fixtures.js';

const WIDTH = 640;
const HEIGHT = 360;
const clockAt = (frameIndex: number) => ({ frameIndex, frameIntervalMs: 33 });

function patternFrame(): I420Frame {
  const frame = new I420Frame(WIDTH, HEIGHT);
  testPatternFrame(WIDTH, HEIGHT).copy(frame.buffer);
  return frame;
}

function flatFrame(value: number): I420Frame {
  const frame = new I420Frame(WIDTH, HEIGHT);
  frame.y.fill(value);
  frame.u.fill(128);
  frame.v.fill(128);
  return frame;
}

const mean = (plane: Uint8Array) => plane.reduce((sum, value) => sum + value, 0) / plane.length;

describe('pixelate', () => {
  it('makes every block one colour, the mean of what was there', () => {
    const original = patternFrame();
    const frame = patternFrame();
    const pixelate = new Pixelate();
    pixelate.configure(pixelateParams.parse({ blockSize: 20 }));
    pixelate.apply(frame, clockAt(0));
    for (const [top, left] of [[0, 0], [100, 200], [340, 620]] as const) {
      const values = new Set<number>();
      let sum = 0;
      for (let row = top; row < top + 20; row++) for (let column = left; column < left + 20; column++) {
        values.add(frame.y[row * WIDTH + column]!);
        sum += original.y[row * WIDTH + column]!;
      }
      expect(values.size).toBe(1);
      expect([...values][0]).toBe(Math.round(sum / 400));
    }
  });

  /** Block means computed the plain way, pixel by pixel: what every plane of the output must equal. */
  function referenceMosaic(plane: Uint8Array, width: number, height: number, block: number): Uint8Array {
    const out = new Uint8Array(plane.length);
    for (let top = 0; top < height; top += block) {
      for (let left = 0; left < width; left += block) {
        const [bottom, right] = [Math.min(height, top + block), Math.min(width, left + block)];
        let sum = 0;
        for (let row = top; row < bottom; row++) for (let column = left; column < right; column++) sum += plane[row * width + column]!;
        const value = Math.round(sum / ((bottom - top) * (right - left)));
        for (let row = top; row < bottom; row++) out.fill(value, row * width + left, row * width + right);
      }
    }
    return out;
  }

  it.each([
    [640, 360, 16],
    [640, 360, 24],
    [640, 360, 128],
    [638, 358, 10],
    [37, 21, 6],
  ])('at %ix%i with %i px blocks: every plane equals the plain block means, edge blocks and half-size chroma blocks included', (width, height, blockSize) => {
    const frame = new I420Frame(width, height);
    let state = 12345;
    for (let index = 0; index < frame.buffer.length; index++) {
      state = (state * 1103515245 + 12345) >>> 0;
      frame.buffer[index] = state >>> 24;
    }
    const [chromaWidth, chromaHeight] = [Math.ceil(width / 2), Math.ceil(height / 2)];
    const expected = [
      referenceMosaic(frame.y, width, height, blockSize),
      referenceMosaic(frame.u, chromaWidth, chromaHeight, blockSize / 2),
      referenceMosaic(frame.v, chromaWidth, chromaHeight, blockSize / 2),
    ];
    const pixelate = new Pixelate();
    pixelate.configure(pixelateParams.parse({ blockSize }));
    pixelate.apply(frame, clockAt(0));
    expect(Buffer.from(frame.y).equals(expected[0]!)).toBe(true);
    expect(Buffer.from(frame.u).equals(expected[1]!)).toBe(true);
    expect(Buffer.from(frame.v).equals(expected[2]!)).toBe(true);
  });

  it('keeps white white in the largest blocks (no overflow in the sums)', () => {
    const frame = new I420Frame(WIDTH, HEIGHT);
    frame.buffer.fill(255);
    const pixelate = new Pixelate();
    pixelate.configure(pixelateParams.parse({ blockSize: 128 }));
    pixelate.apply(frame, clockAt(0));
    expect(frame.buffer.every((value) => value === 255)).toBe(true);
  });
});

describe('vignette', () => {
  it('leaves the centre alone and darkens the corners, more with more strength', () => {
    const soft = flatFrame(200);
    const hard = flatFrame(200);
    const vignette = new Vignette();
    vignette.configure(vignetteParams.parse({ strength: 0.3 }));
    vignette.apply(soft, clockAt(0));
    vignette.configure(vignetteParams.parse({ strength: 0.9 }));
    vignette.apply(hard, clockAt(0));
    const centre = (HEIGHT / 2) * WIDTH + WIDTH / 2;
    expect(soft.y[centre]).toBe(200);
    expect(hard.y[centre]).toBe(200);
    expect(soft.y[0]!).toBeLessThan(160);
    expect(hard.y[0]!).toBeLessThan(soft.y[0]!);
    // Monotonic from the centre to a corner along the diagonal.
    let previous = 255;
    for (let step = 0; step <= 10; step++) {
      const value = hard.y[Math.round((HEIGHT / 2) * (1 - step / 10)) * WIDTH + Math.round((WIDTH / 2) * (1 - step / 10))]!;
      expect(value).toBeLessThanOrEqual(previous);
      previous = value;
    }
  });
});

describe('grain', () => {
  it('is repeatable for the same seed and frame, and different across frames and seeds', () => {
    const render = (seed: number, frameIndex: number): Buffer => {
      const frame = flatFrame(128);
      const grain = new Grain();
      grain.configure(grainParams.parse({ seed, amount: 0.5 }));
      grain.apply(frame, clockAt(frameIndex));
      return frame.buffer;
    };
    expect(render(7, 3).equals(render(7, 3))).toBe(true);
    expect(render(7, 3).equals(render(7, 4))).toBe(false);
    expect(render(7, 3).equals(render(8, 3))).toBe(false);
  });

  it('adds noise of the asked size without shifting brightness', () => {
    const frame = flatFrame(128);
    const grain = new Grain();
    grain.configure(grainParams.parse({ amount: 0.5 }));
    grain.apply(frame, clockAt(0));
    expect(Math.abs(mean(frame.y) - 128)).toBeLessThan(1.5);
    let low = 255;
    let high = 0;
    for (const value of frame.y) {
      low = Math.min(low, value);
      high = Math.max(high, value);
    }
    const spread = high - low;
    expect(spread).toBeGreaterThan(20);
    expect(spread).toBeLessThanOrEqual(42);
    expect(mean(frame.u)).toBe(128);
  });

  it('repeats as one seamless 256-pixel tile at any frame width (4-pixel runs and single pixels agree)', () => {
    for (const [width, height] of [[854, 480], [37, 300], [640, 360]] as const) {
      const frame = new I420Frame(width, height);
      frame.y.fill(128);
      const grain = new Grain();
      grain.configure(grainParams.parse({ amount: 1, seed: 5 }));
      grain.apply(frame, clockAt(2));
      let mismatches = 0;
      for (let row = 0; row < height; row++) {
        for (let column = 0; column + 256 < width; column++) if (frame.y[row * width + column] !== frame.y[row * width + column + 256]) mismatches++;
        if (row + 256 < height) for (let column = 0; column < width; column++) if (frame.y[row * width + column] !== frame.y[(row + 256) * width + column]) mismatches++;
      }
      expect(mismatches).toBe(0);
      expect(new Set(frame.y).size).toBeGreaterThan(40);
    }
  });

  it('clamps at black and white instead of wrapping around', () => {
    for (const level of [2, 253]) {
      const frame = flatFrame(level);
      const grain = new Grain();
      grain.configure(grainParams.parse({ amount: 1 }));
      grain.apply(frame, clockAt(1));
      const values = new Set(frame.y);
      // Full-strength grain is about ±40: everything stays within 42 levels of where it was.
      for (const value of values) expect(Math.abs(value - level)).toBeLessThanOrEqual(42);
      expect(values.has(level < 128 ? 0 : 255)).toBe(true);
    }
  });
});

describe('AI disclosure', () => {
  const spec = (transforms: unknown[]) => {
    const parsed = parseChainSpec({ transforms });
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.spec;
  };

  it('adds the label when a stylization is on and the spec has none', () => {
    const result = withDisclosure(spec([{ name: 'pixelate' }]));
    expect(result.labelAdded).toBe(true);
    expect(result.spec.transforms.map((entry) => entry.name)).toEqual(['pixelate', 'label']);
    expect(result.spec.transforms[1]!.params.text).toBe('AI-processed');
  });

  it('keeps an operator-placed label, reports one switched off, and adds none to plain colour work', () => {
    expect(withDisclosure(spec([{ name: 'label', params: { corner: 'bottom-left' } }, { name: 'grain' }])).spec.transforms.map((entry) => entry.name)).toEqual(['label', 'grain']);
    expect(withDisclosure(spec([{ name: 'vignette' }, { name: 'label', enabled: false }])).labelOff).toBe(true);
    expect(withDisclosure(spec([{ name: 'color' }])).spec.transforms).toHaveLength(1);
    expect(withDisclosure(spec([{ name: 'pixelate', enabled: false }])).labelAdded).toBe(false);
  });
});
