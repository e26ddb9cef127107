import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import type { Transform } from './transform.js';

export const colorParams = z
  .object({
    /** Added to luma, as a fraction of full scale (−1…1), like ffmpeg's eq brightness. */
    brightness: z.number().min(-1).max(1).default(0),
    /** Luma gain around mid-grey (0…3). */
    contrast: z.number().min(0).max(3).default(1),
    /** Chroma gain (0 = grey, 1 = unchanged, up to 3). */
    saturation: z.number().min(0).max(3).default(1),
    /** Luma gamma (0.1…10; above 1 brightens mid-tones). */
    gamma: z.number().min(0.1).max(10).default(1),
    /** Warm (positive) or cool (negative) shift, −1…1. */
    temperature: z.number().min(-1).max(1).default(0),
    /** Magenta (positive) or green (negative) shift, −1…1. */
    tint: z.number().min(-1).max(1).default(0),
  })
  .strict();
export type ColorParams = z.infer<typeof colorParams>;

/** Most a temperature or tint of ±1 moves a chroma sample. */
const CHROMA_SHIFT = 40;

/**
 * Colour correction on I420 without leaving YUV: brightness, contrast and gamma fold into one
 * 256-entry table for Y; saturation, temperature and tint into one table each for U and V.
 * Tables are rebuilt only when the parameters change.
 */
export class Color implements Transform<ColorParams> {
  readonly name = 'color';
  readonly params = colorParams;
  readonly heavy = false;
  private readonly lumaTable = new Uint8Array(256);
  private readonly uTable = new Uint8Array(256);
  private readonly vTable = new Uint8Array(256);
  private identity = true;

  constructor() {
    this.configure(colorParams.parse({}));
  }

  configure(params: ColorParams): void {
    const { brightness, contrast, saturation, gamma, temperature, tint } = params;
    const inverseGamma = 1 / gamma;
    for (let value = 0; value < 256; value++) {
      // Same order as ffmpeg's eq: contrast and brightness on 0…1, then gamma.
      let level = contrast * (value / 255 - 0.5) + 0.5 + brightness;
      level = level <= 0 ? 0 : level ** inverseGamma;
      this.lumaTable[value] = clampByte(level * 255);
      const chroma = (value - 128) * saturation;
      this.uTable[value] = clampByte(128 + chroma + CHROMA_SHIFT * (-temperature * 0.5 + tint * 0.5));
      this.vTable[value] = clampByte(128 + chroma + CHROMA_SHIFT * (temperature + tint * 0.5));
    }
    this.identity = brightness === 0 && contrast === 1 && saturation === 1 && gamma === 1 && temperature === 0 && tint === 0;
  }

  apply(frame: Frame, _clock: FrameClock): void {
    if (this.identity) return;
    const { y, u, v } = frame;
    const lumaTable = this.lumaTable;
    for (let index = 0; index < y.length; index++) y[index] = lumaTable[y[index]!]!;
    const uTable = this.uTable;
    const vTable = this.vTable;
    for (let index = 0; index < u.length; index++) {
      u[index] = uTable[u[index]!]!;
      v[index] = vTable[v[index]!]!;
    }
  }

  close(): void {}
}

function clampByte(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}
