import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import type { Transform } from './transform.js';

export const vignetteParams = z
  .object({
    /** How dark the corners get (0 = none, 1 = black). */
    strength: z.number().min(0).max(1).default(0.5),
    /** Where darkening starts, as a share of the centre-to-corner distance. */
    radius: z.number().min(0).max(1.5).default(0.6),
  })
  .strict();
export type VignetteParams = z.infer<typeof vignetteParams>;

/**
 * Darkens towards the corners. The gain of every pixel is computed once per frame size and
 * parameter change (8.8 fixed point), so a frame costs one multiply per sample.
 */
export class Vignette implements Transform<VignetteParams> {
  readonly name = 'vignette';
  readonly params = vignetteParams;
  readonly heavy = false;
  protected settings: VignetteParams = vignetteParams.parse({});
  protected lumaGain = new Uint16Array(0);
  protected chromaGain = new Uint16Array(0);
  protected builtFor = '';

  configure(params: VignetteParams): void {
    this.settings = params;
    this.builtFor = '';
  }

  apply(frame: Frame, _clock: FrameClock): void {
    if (this.settings.strength === 0) return;
    const key = `${frame.width}x${frame.height}`;
    if (key !== this.builtFor) this.build(frame.width, frame.height, key);
    const { y, u, v } = frame;
    const lumaGain = this.lumaGain;
    for (let index = 0; index < y.length; index++) y[index] = 16 + (((y[index]! - 16) * lumaGain[index]!) >> 8);
    const chromaGain = this.chromaGain;
    for (let index = 0; index < u.length; index++) {
      u[index] = 128 + (((u[index]! - 128) * chromaGain[index]!) >> 8);
      v[index] = 128 + (((v[index]! - 128) * chromaGain[index]!) >> 8);
    }
  }

  close(): void {}

  protected build(width: number, height: number, key: string): void {
    const chromaWidth = Math.ceil(width / 2);
    const chromaHeight = Math.ceil(height / 2);
    if (this.lumaGain.length !== width * height) this.lumaGain = new Uint16Array(width * height);
    if (this.chromaGain.length !== chromaWidth * chromaHeight) this.chromaGain = new Uint16Array(chromaWidth * chromaHeight);
    const gainAt = (x: number, y: number): number => {
      const distance = Math.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2)) / Math.SQRT2;
      const fall = Math.min(1, Math.max(0, (distance - this.settings.radius) / Math.max(0.01, 1 - this.settings.radius)));
      // Smoothstep, so the edge of the effect has no visible ring.
      return Math.round(256 * (1 - this.settings.strength * fall * fall * (3 - 2 * fall)));
    };
    for (let row = 0; row < height; row++) for (let column = 0; column < width; column++) this.lumaGain[row * width + column] = gainAt(column + 0.5, row + 0.5);
    for (let row = 0; row < chromaHeight; row++) for (let column = 0; column < chromaWidth; column++) this.chromaGain[row * chromaWidth + column] = gainAt(column * 2 + 1, row * 2 + 1);
    this.builtFor = key;
  }
}
