import { describe, expect, it } from 'vitest';
import { I420Frame } from '../transforms/frame.js';
import { downscalePlane, HalfResolution, upscalePlane, upscalePlaneInWords } from '../transforms/half-resolution.js';
import { psnr, testPatternFrame } from './helpers/ffmpeg-fixtures.js';

describe('half-resolution planes', () => {
  it('box-averages 2×2 blocks, repeating the last row and column of odd sizes', () => {
    const half = new Uint8Array(6);
    // 5×3: the fifth column and third row have no partner.
    downscalePlane(Uint8Array.from([10, 20, 30, 40, 90, 50, 60, 70, 80, 91, 1, 3, 5, 7, 9]), 5, 3, half);
    expect([...half]).toEqual([35, 55, 91, 2, 6, 9]);
  });

  it('scales up bilinearly with centres aligned: a step becomes a quarter-weighted ramp', () => {
    const full = new Uint8Array(8);
    upscalePlane(Uint8Array.from([0, 160]), 4, 2, full, new Uint16Array(4));
    // x = 0…3 sit at 3/4·a + 1/4·b with a, b the nearest half-size samples; both rows alike.
    expect([...full]).toEqual([0, 40, 120, 160, 0, 40, 120, 160]);
  });

  it('packs four samples per store with the same result as the byte-wise upscale', () => {
    const [width, height] = [64, 9];
    const half = Uint8Array.from({ length: 32 * 5 }, (_, index) => (index * 97 + (index >> 3) * 31) & 255);
    const bytes = new Uint8Array(width * height);
    upscalePlane(half, width, height, bytes, new Uint16Array(34));
    const words = new Uint32Array((width * height) / 4);
    upscalePlaneInWords(half, width, height, words, new Uint16Array(34));
    expect([...new Uint8Array(words.buffer)]).toEqual([...bytes]);
  });

  it.each([
    [320, 180],
    [322, 181],
  ])('round-trips a real %ix%i frame closely, and does not allocate once prepared', (width, height) => {
    const frame = new I420Frame(width, height);
    testPatternFrame(width, height).copy(frame.buffer);
    const original = Buffer.from(frame.buffer);
    const half = new HalfResolution();
    half.prepare(width, height);
    const planes = half.y;
    half.downscale(frame, 'all');
    half.upscale(frame, 'all');
    half.prepare(width, height);
    expect(half.y).toBe(planes);
    // Measured 30.6 / 30.3 dB luma and 28.9 / 26.2 dB chroma: what half the samples can keep of testsrc2.
    expect(psnr(frame.y, original.subarray(0, width * height))).toBeGreaterThan(28);
    expect(psnr(frame.u, original.subarray(width * height, width * height + frame.u.length))).toBeGreaterThan(24);
  });

  it('follows the chain only while the operator left the choice to it', () => {
    const half = new HalfResolution();
    half.request(true);
    expect(half.active).toBe(true);
    half.choice = 'full';
    expect([half.adaptive, half.active]).toEqual([false, false]);
    half.choice = 'half';
    half.request(false);
    expect(half.active).toBe(true);
  });
});
