import { I420Frame } from '../../transforms/frame.js';
import { testPatternFrame } from './ffmpeg-fixtures.js';

/** One frame of ffmpeg's testsrc2 in an I420Frame. */
export function patternFrame(width: number, height: number): I420Frame {
  const frame = new I420Frame(width, height);
  testPatternFrame(width, height).copy(frame.buffer);
  return frame;
}

/** testsrc2 cropped to (width−1)×(height−1): ffmpeg draws no picture into an odd last row, this keeps one. */
export function oddPatternFrame(width: number, height: number): I420Frame {
  const even = patternFrame(width + 1, height + 1);
  const frame = new I420Frame(width, height);
  for (let row = 0; row < height; row++) frame.y.set(even.y.subarray(row * (width + 1), row * (width + 1) + width), row * width);
  // Both sizes have the same chroma planes.
  frame.u.set(even.u);
  frame.v.set(even.v);
  return frame;
}

/** One luma row as numbers, for comparing with hand-computed pixels. */
export const lumaRow = (frame: I420Frame, index: number): number[] => [...frame.y.subarray(index * frame.width, (index + 1) * frame.width)];

/** Sum of absolute luma differences to the right and below: the detail a blur removes. */
export function lumaDetail(frame: I420Frame, left: number, top: number, right: number, bottom: number): number {
  let sum = 0;
  for (let row = top; row < bottom - 1; row++)
    for (let column = left; column < right - 1; column++) {
      const at = row * frame.width + column;
      sum += Math.abs(frame.y[at]! - frame.y[at + 1]!) + Math.abs(frame.y[at]! - frame.y[at + frame.width]!);
    }
  return sum;
}
