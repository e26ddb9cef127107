import { beforeAll, describe, expect, it } from 'vitest';
import { ffmpegFilter, psnr, testPatternFrame } from './helpers/ffmpeg-fixtures.js';
import { Color, colorParams } from '../transforms/color.js';
import { I420Frame } from '../transforms/frame.js';

const WIDTH = 640;
const HEIGHT = 360;
let input: Buffer;


function applyColor(params: Record<string, number>): I420Frame {
  const frame = new I420Frame(WIDTH, HEIGHT);
  input.copy(frame.buffer);
  const color = new Color();
  color.configure(colorParams.parse(params));
  color.apply(frame, { frameIndex: 0, frameIntervalMs: 33 });
  return frame;
}

function ffmpegEq(filter: string): Buffer {
  return ffmpegFilter(input, WIDTH, HEIGHT, filter);
}

beforeAll(() => {
  input = testPatternFrame(WIDTH, HEIGHT);
});

describe('color against ffmpeg eq', () => {
  it.each([
    [{ brightness: 0.1 }, 'eq=brightness=0.1'],
    [{ contrast: 1.4 }, 'eq=contrast=1.4'],
    [{ saturation: 1.8 }, 'eq=saturation=1.8'],
    [{ gamma: 1.5 }, 'eq=gamma=1.5'],
    [{ brightness: -0.05, contrast: 1.2, saturation: 0.6, gamma: 0.8 }, 'eq=brightness=-0.05:contrast=1.2:saturation=0.6:gamma=0.8'],
  ])('%o matches %s within 40 dB', (params, filter) => {
    const ours = applyColor(params).buffer;
    const reference = ffmpegEq(filter);
    expect(psnr(ours, reference)).toBeGreaterThanOrEqual(40);
    expect(psnr(ours, input)).toBeLessThan(40);
  });
});

describe('color temperature and tint', () => {
  const meanOf = (plane: Uint8Array) => plane.reduce((sum, value) => sum + value, 0) / plane.length;

  it('warms by pushing V (red) up and U (blue) down, and cools the other way', () => {
    const warm = applyColor({ temperature: 0.5 });
    const cool = applyColor({ temperature: -0.5 });
    const base = applyColor({});
    expect(meanOf(warm.v)).toBeGreaterThan(meanOf(base.v) + 15);
    expect(meanOf(warm.u)).toBeLessThan(meanOf(base.u) - 5);
    expect(meanOf(cool.v)).toBeLessThan(meanOf(base.v) - 15);
    expect([...warm.y]).toEqual([...base.y]);
  });

  it('tints magenta by raising both chroma planes, green by lowering them', () => {
    const magenta = applyColor({ tint: 0.6 });
    const green = applyColor({ tint: -0.6 });
    const base = applyColor({});
    expect(meanOf(magenta.u)).toBeGreaterThan(meanOf(base.u) + 5);
    expect(meanOf(magenta.v)).toBeGreaterThan(meanOf(base.v) + 5);
    expect(meanOf(green.u)).toBeLessThan(meanOf(base.u) - 5);
  });

  it('leaves the frame untouched at defaults, and refuses out-of-range values naming the field', () => {
    expect(applyColor({}).buffer.equals(input)).toBe(true);
    const result = colorParams.safeParse({ saturation: 7 });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['saturation']);
  });
});

describe('color on frames of any size', () => {
  /** What the colour settings make of every byte value, per plane, read from a 256×2 frame holding each value once per plane. */
  function mappingOf(params: Record<string, number>): [Uint8Array, Uint8Array, Uint8Array] {
    const frame = new I420Frame(256, 4);
    for (let value = 0; value < 256; value++) frame.y[value] = value;
    for (let value = 0; value < 256; value++) frame.u[value] = frame.v[value] = value;
    const color = new Color();
    color.configure(colorParams.parse(params));
    color.apply(frame, { frameIndex: 0, frameIntervalMs: 33 });
    return [frame.y.slice(0, 256), frame.u.slice(0, 256), frame.v.slice(0, 256)];
  }

  it.each([
    [37, 21],
    [38, 21],
    [38, 22],
    [640, 360],
  ])('maps every byte of a %ix%i frame (planes at any alignment) the same way', (width, height) => {
    const params = { brightness: 0.05, contrast: 1.2, saturation: 1.3, gamma: 1.1, temperature: 0.2 };
    const [yMap, uMap, vMap] = mappingOf(params);
    const frame = new I420Frame(width, height);
    let state = width * 7919 + height;
    for (let index = 0; index < frame.buffer.length; index++) {
      state = (state * 1103515245 + 12345) >>> 0;
      frame.buffer[index] = state >>> 24;
    }
    const before = Buffer.from(frame.buffer);
    const color = new Color();
    color.configure(colorParams.parse(params));
    color.apply(frame, { frameIndex: 0, frameIntervalMs: 33 });
    const lumaBytes = width * height;
    const chromaBytes = frame.u.length;
    let wrong = 0;
    for (let index = 0; index < frame.buffer.length; index++) {
      const map = index < lumaBytes ? yMap : index < lumaBytes + chromaBytes ? uMap : vMap;
      if (frame.buffer[index] !== map[before[index]!]) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('leaves chroma untouched when only luma settings change, and luma when only saturation does', () => {
    const contrastOnly = applyColor({ contrast: 1.4, gamma: 1.2 });
    expect(Buffer.from(contrastOnly.u).equals(input.subarray(WIDTH * HEIGHT, WIDTH * HEIGHT * 1.25))).toBe(true);
    expect(Buffer.from(contrastOnly.y).equals(input.subarray(0, WIDTH * HEIGHT))).toBe(false);
    const saturationOnly = applyColor({ saturation: 1.5 });
    expect(Buffer.from(saturationOnly.y).equals(input.subarray(0, WIDTH * HEIGHT))).toBe(true);
    expect(Buffer.from(saturationOnly.v).equals(input.subarray(WIDTH * HEIGHT * 1.25))).toBe(false);
  });
});
