import { B_FROM_U, G_FROM_U, G_FROM_V, LUMA_SCALE, R_FROM_V } from '../bt601.js';
import type { Frame } from '../frame.js';
import { DETECTION_LONG_SIDE_MAX, DETECTION_SHORT_SIDE } from './detector-protocol.js';

/**
 * The detector's view of a frame: packed RGB with its short side at DETECTION_SHORT_SIDE (or as set), luma
 * averaged over each target pixel's area (sampled on a grid on large frames), chroma at its centre.
 * Tables are built per resolution; write() does not allocate.
 */
export class RgbDownscaler {
  width = 0;
  height = 0;
  private sourceWidth = 0;
  private sourceHeight = 0;
  private columnStart = new Int32Array(0);
  private rowStart = new Int32Array(0);
  private step = 1;

  private shortSide = DETECTION_SHORT_SIDE;
  private longSideMax = DETECTION_LONG_SIDE_MAX;

  /** Sets up for frames of this size, scaled to `shortSide` (never up) with the long side at most `longSideMax`. */
  resize(sourceWidth: number, sourceHeight: number, shortSide = this.shortSide, longSideMax = this.longSideMax): void {
    this.shortSide = shortSide;
    this.longSideMax = longSideMax;
    const scale = Math.min(1, shortSide / Math.min(sourceWidth, sourceHeight));
    const clampLong = (side: number) => Math.max(1, Math.min(longSideMax, Math.round(side * scale)));
    this.sourceWidth = sourceWidth;
    this.sourceHeight = sourceHeight;
    this.width = clampLong(sourceWidth);
    this.height = clampLong(sourceHeight);
    this.columnStart = Int32Array.from({ length: this.width + 1 }, (_, index) => Math.floor((index * sourceWidth) / this.width));
    this.rowStart = Int32Array.from({ length: this.height + 1 }, (_, index) => Math.floor((index * sourceHeight) / this.height));
    // About two samples per target pixel and axis are enough for a detector input.
    this.step = Math.max(1, Math.ceil(Math.min(sourceWidth / this.width, sourceHeight / this.height) / 2));
  }

  /** Writes width × height × 3 bytes of RGB into `out`. */
  write(frame: Frame, out: Uint8Array): void {
    if (frame.width !== this.sourceWidth || frame.height !== this.sourceHeight) this.resize(frame.width, frame.height);
    const { y: luma, u: chromaU, v: chromaV } = frame;
    const lumaStride = frame.width;
    const chromaStride = Math.ceil(frame.width / 2);
    const step = this.step;
    let at = 0;
    for (let row = 0; row < this.height; row++) {
      const top = this.rowStart[row]!;
      const bottom = Math.max(top + 1, this.rowStart[row + 1]!);
      const chromaRow = ((top + bottom) >> 2) * chromaStride;
      for (let column = 0; column < this.width; column++) {
        const left = this.columnStart[column]!;
        const right = Math.max(left + 1, this.columnStart[column + 1]!);
        let sum = 0;
        let samples = 0;
        for (let sourceRow = top; sourceRow < bottom; sourceRow += step) {
          const base = sourceRow * lumaStride;
          for (let sourceColumn = left; sourceColumn < right; sourceColumn += step) {
            sum += luma[base + sourceColumn]!;
            samples++;
          }
        }
        const chroma = chromaRow + ((left + right) >> 2);
        const y = (sum / samples - 16) * LUMA_SCALE;
        const u = chromaU[chroma]! - 128;
        const v = chromaV[chroma]! - 128;
        // A Uint8Array wraps out-of-range values, so they are clamped first.
        out[at++] = clamp(y + R_FROM_V * v);
        out[at++] = clamp(y + G_FROM_U * u + G_FROM_V * v);
        out[at++] = clamp(y + B_FROM_U * u);
      }
    }
  }
}

function clamp(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : value + 0.5;
}
