import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import type { Transform } from './transform.js';

export const pixelateParams = z.object({ blockSize: z.number().int().min(2).max(128).default(16) }).strict();
export type PixelateParams = z.infer<typeof pixelateParams>;

/** Mosaic: every block of blockSize² pixels takes its mean (chroma in half-size blocks). */
export class Pixelate implements Transform<PixelateParams> {
  readonly name = 'pixelate';
  readonly params = pixelateParams;
  readonly heavy = false;
  private blockSize = 16;

  configure(params: PixelateParams): void {
    this.blockSize = params.blockSize - (params.blockSize % 2);
  }

  apply(frame: Frame, _clock: FrameClock): void {
    averageBlocks(frame.y, frame.width, frame.height, this.blockSize);
    const chromaWidth = Math.ceil(frame.width / 2);
    const chromaHeight = Math.ceil(frame.height / 2);
    averageBlocks(frame.u, chromaWidth, chromaHeight, this.blockSize / 2);
    averageBlocks(frame.v, chromaWidth, chromaHeight, this.blockSize / 2);
  }

  close(): void {}
}

function averageBlocks(plane: Uint8Array, width: number, height: number, block: number): void {
  for (let top = 0; top < height; top += block) {
    const bottom = Math.min(height, top + block);
    for (let left = 0; left < width; left += block) {
      const right = Math.min(width, left + block);
      let sum = 0;
      for (let row = top; row < bottom; row++) for (let column = left; column < right; column++) sum += plane[row * width + column]!;
      const mean = Math.round(sum / ((bottom - top) * (right - left)));
      for (let row = top; row < bottom; row++) plane.fill(mean, row * width + left, row * width + right);
    }
  }
}
