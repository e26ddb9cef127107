import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { I420Frame } from '../../transforms/frame.js';
import { testPatternFrame } from './ffmpeg-fixtures.js';

// Real frames and a LUT for the kernel tests that compare a backend with the TypeScript reference.

let source: Buffer | undefined;

/** A 120×80 PNG with graded and partial alpha (a gradient and a translucent disc), for the overlay blend; returns its name. */
export function writeLogoFile(dir: string, name: string): string {
  const canvas = createCanvas(120, 80);
  const context = canvas.getContext('2d');
  const gradient = context.createLinearGradient(0, 0, 120, 0);
  gradient.addColorStop(0, 'rgba(255, 40, 0, 0.1)');
  gradient.addColorStop(1, 'rgba(0, 90, 255, 1)');
  context.fillStyle = gradient;
  context.fillRect(0, 0, 120, 80);
  context.fillStyle = 'rgba(255, 255, 255, 0.6)';
  context.beginPath();
  context.arc(60, 40, 30, 0, 2 * Math.PI);
  context.fill();
  writeFileSync(path.join(dir, name), canvas.toBuffer('image/png'));
  return name;
}

/** A testsrc2 picture of any size (up to 1282×722): a window of a larger frame (ffmpeg leaves an odd last row empty). */
export function patternFrame(width: number, height: number, into: I420Frame = new I420Frame(width, height)): I420Frame {
  source ??= testPatternFrame(1282, 722);
  const sourceWidth = 1282;
  const sourceChromaWidth = 641;
  const chromaWidth = Math.ceil(width / 2);
  for (let row = 0; row < height; row++) into.y.set(source.subarray(row * sourceWidth, row * sourceWidth + width), row * width);
  const uStart = 1282 * 722;
  const vStart = uStart + 641 * 361;
  for (let row = 0; row < Math.ceil(height / 2); row++) {
    into.u.set(source.subarray(uStart + row * sourceChromaWidth, uStart + row * sourceChromaWidth + chromaWidth), row * chromaWidth);
    into.v.set(source.subarray(vStart + row * sourceChromaWidth, vStart + row * sourceChromaWidth + chromaWidth), row * chromaWidth);
  }
  return into;
}

/** Writes a smooth, non-trivial grade as a size³ .cube file into `dir`; returns its name. */
export function writeCubeFile(dir: string, name: string, size: number): string {
  const lines = [`LUT_3D_SIZE ${size}`];
  for (let b = 0; b < size; b++)
    for (let g = 0; g < size; g++)
      for (let r = 0; r < size; r++) {
        const [red, green, blue] = [r / (size - 1), g / (size - 1), b / (size - 1)];
        lines.push(`${Math.min(1, 0.05 + 0.9 * red ** 0.8).toFixed(6)} ${(0.1 + 0.8 * green * (1 - 0.3 * blue)).toFixed(6)} ${Math.min(1, 0.1 + blue ** 1.3 + 0.1 * red).toFixed(6)}`);
      }
  writeFileSync(path.join(dir, name), `${lines.join('\n')}\n`);
  return name;
}

export function differingBytes(a: Uint8Array, b: Uint8Array): number {
  let count = 0;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) count++;
  return count;
}

/** The largest difference between two frames' bytes, in code values. */
export function largestDifference(a: Uint8Array, b: Uint8Array): number {
  let largest = 0;
  for (let index = 0; index < a.length; index++) largest = Math.max(largest, Math.abs(a[index]! - b[index]!));
  return largest;
}

/** Frame sizes every kernel is compared on: 720p, odd, tiny, and the smallest I420 frames. */
export const KERNEL_FRAME_SIZES: readonly [number, number][] = [
  [1280, 720],
  [641, 361],
  [33, 17],
  [3, 3],
  [2, 2],
];
