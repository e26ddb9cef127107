import { z } from 'zod';
import { clampByte } from './bt601.js';
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
  // The same tables for two pixels at once (measured 1.7–3.4× faster than a byte at a time).
  private readonly lumaPairs = new Uint16Array(65536);
  private readonly uPairs = new Uint16Array(65536);
  private readonly vPairs = new Uint16Array(65536);
  /** 16-bit views of planes already seen: the worker reuses its frame buffers, so this stops growing. */
  private readonly pairViews = new WeakMap<Uint8Array, Uint16Array | null>();
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
    fillPairs(this.lumaTable, this.lumaPairs);
    fillPairs(this.uTable, this.uPairs);
    fillPairs(this.vTable, this.vPairs);
    this.identity = brightness === 0 && contrast === 1 && saturation === 1 && gamma === 1 && temperature === 0 && tint === 0;
  }

  apply(frame: Frame, _clock: FrameClock): void {
    if (this.identity) return;
    this.mapPlane(frame.y, this.lumaTable, this.lumaPairs);
    this.mapPlane(frame.u, this.uTable, this.uPairs);
    this.mapPlane(frame.v, this.vTable, this.vPairs);
  }

  private mapPlane(plane: Uint8Array, table: Uint8Array, pairs: Uint16Array): void {
    let view = this.pairViews.get(plane);
    if (view === undefined) {
      const aligned = plane.byteOffset % 2 === 0 && plane.length % 2 === 0;
      view = aligned ? new Uint16Array(plane.buffer, plane.byteOffset, plane.length / 2) : null;
      this.pairViews.set(plane, view);
    }
    if (view) {
      for (let index = 0; index < view.length; index++) view[index] = pairs[view[index]!]!;
    } else {
      for (let index = 0; index < plane.length; index++) plane[index] = table[plane[index]!]!;
    }
  }

  close(): void {}
}

/** Table for two bytes read as one 16-bit value; the layout in memory stays as it was, whatever the byte order. */
function fillPairs(table: Uint8Array, pairs: Uint16Array): void {
  const probe = new Uint8Array(2);
  const probe16 = new Uint16Array(probe.buffer);
  for (let value = 0; value < 65536; value++) {
    probe16[0] = value;
    probe[0] = table[probe[0]!]!;
    probe[1] = table[probe[1]!]!;
    pairs[value] = probe16[0]!;
  }
}

