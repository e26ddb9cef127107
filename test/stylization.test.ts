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
