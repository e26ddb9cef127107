import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import {
  B_FROM_U,
  G_FROM_U,
  G_FROM_V,
  LUMA_SCALE,
  R_FROM_V,
  U_FROM_B,
  U_FROM_G,
  U_FROM_R,
  V_FROM_B,
  V_FROM_G,
  V_FROM_R,
  Y_FROM_B,
  Y_FROM_G,
  Y_FROM_R,
  clampByte,
} from './bt601.js';
import { parseCubeFile, type CubeLut } from './cube-file.js';
import type { Frame, FrameClock } from './frame.js';
import type { Transform } from './transform.js';

export const lut3dParams = z
  .object({
    /** A .cube file: a path, resolved by the owner of the transform (e.g. under LIVEFX_DATA_DIR/luts). */
    file: z.string().min(1),
    interp: z.enum(['nearest', 'trilinear', 'tetrahedral']).default('tetrahedral'),
    strength: z.number().min(0).max(1).default(1),
  })
  .strict();
export type Lut3dParams = z.infer<typeof lut3dParams>;

type Interpolation = Lut3dParams['interp'];

/** A configured LUT's YUV tables, kept to be copied instead of rebuilt. */
export interface BuiltTables {
  lut: CubeLut;
  luma: Uint8Array;
  chroma: Int32Array;
}

/**
 * The YUV tables of the last LUT files configured in this thread (5.4 MB each), by file version,
 * interpolation and strength. Building them takes about 100 ms of CPU; a chain re-applied for an
 * edit elsewhere in it (a text, a toggle) copies them in about 1 ms, so a burst of chain edits
 * does not hold up the stream's frames.
 */
const recentTables = new Map<string, BuiltTables>();
const RECENT_TABLES = 2;

/** The tables' key for a file as it is now; undefined when it cannot be read (the read reports why). */
function tablesKey(file: string, interp: Interpolation, strength: number): string | undefined {
  try {
    const stats = statSync(file);
    return [file, stats.size, stats.mtimeMs, stats.ino, interp, strength].join('\0');
  } catch {
    return undefined;
  }
}

/** Chroma levels of the YUV tables: 0, 4, …, 256 (clamped to 255), so every 8-bit value has a cell. */
const CHROMA_LEVELS = 65;
/** Entries per (U, V) cell: one per input Y, so the luma pixels of a block read one 256-entry row. */
const CELL = 256;
/** Distance between U-neighbour cells in the tables. */
const U_STRIDE = CHROMA_LEVELS * CELL;
/** Rounding for a packed chroma sum in sixteenths: +8 in both 16-bit lanes. */
const PACKED_HALF = 8 | (8 << 16);

/**
 * Applies a creative grade from a .cube 3D LUT. At configure time the LUT is re-indexed to YUV:
 * for every Y and every 4th U and V, what RGB conversion (BT.601 limited, like ffmpeg's), the LUT
 * with the chosen interpolation, strength and conversion back make of that Y, U, V. Per frame,
 * each luma pixel reads its block's four chroma cells (bilinear in U and V, integer weights in
 * sixteenths); the block's chroma is read once, at the block's mean luma.
 */
export class Lut3d implements Transform<Lut3dParams> {
  readonly name = 'lut3d';
  readonly params = lut3dParams;
  readonly heavy = true;
  protected lut: CubeLut | undefined;
  private interp: Interpolation = 'tetrahedral';
  protected strength = 1;
  private readonly yTerm = new Float32Array(256);
  private readonly rFromV = new Float32Array(256);
  private readonly gFromU = new Float32Array(256);
  private readonly gFromV = new Float32Array(256);
  private readonly bFromU = new Float32Array(256);
  /** Output of one LUT lookup, reused (no allocation per pixel). */
  private readonly rgb = new Float32Array(3);
  private scale = new Float32Array(3);
  private offset = new Float32Array(3);
  /**
   * Output Y by [U level][V level][input Y]: 1.1 MB. A full 256×256×256 table (16 MB, one read per
   * pixel) was faster on clean pictures but slower on noisy ones, from cache misses.
   */
  protected readonly lumaTable = new Uint8Array(CHROMA_LEVELS * U_STRIDE);
  /**
   * Output U (low 16 bits) and V (high 16 bits) by [U level][V level][input Y]: one read gives
   * both, and a weighted sum of four entries keeps the two lanes apart (each stays under 4096).
   */
  protected readonly chromaTable = new Int32Array(CHROMA_LEVELS * U_STRIDE);

  constructor(private readonly resolveFile: (name: string) => string = (name) => name) {
    for (let value = 0; value < 256; value++) {
      this.yTerm[value] = (value - 16) * LUMA_SCALE;
      this.rFromV[value] = (value - 128) * R_FROM_V;
      this.gFromU[value] = (value - 128) * G_FROM_U;
      this.gFromV[value] = (value - 128) * G_FROM_V;
      this.bFromU[value] = (value - 128) * B_FROM_U;
    }
  }

  configure(params: Lut3dParams): void {
    const file = this.resolveFile(params.file);
    const key = tablesKey(file, params.interp, params.strength);
    const recent = key === undefined ? undefined : recentTables.get(key);
    if (key !== undefined && recent) {
      recentTables.delete(key);
      recentTables.set(key, recent);
      this.useLut(recent.lut, params.interp, params.strength, recent);
      return;
    }
    const lut = parseCubeFile(readFileSync(file, 'utf8'));
    this.useLut(lut, params.interp, params.strength);
    if (key === undefined) return;
    recentTables.set(key, { lut, luma: this.lumaTable.slice(), chroma: this.chromaTable.slice() });
    for (const oldest of recentTables.keys()) {
      if (recentTables.size <= RECENT_TABLES) break;
      recentTables.delete(oldest);
    }
  }

  /** Uses an already parsed LUT (tests, presets held in memory); `built`: its tables, from an earlier configure with the same settings. */
  useLut(lut: CubeLut, interp: Interpolation = 'tetrahedral', strength = 1, built?: BuiltTables): void {
    this.lut = lut;
    this.interp = interp;
    this.strength = strength;
    // RGB 0–255 → LUT grid coordinate 0…size−1, through the file's domain.
    for (let channel = 0; channel < 3; channel++) {
      const span = lut.domainMax[channel]! - lut.domainMin[channel]!;
      this.scale[channel] = (lut.size - 1) / (255 * span);
      this.offset[channel] = (-lut.domainMin[channel]! * (lut.size - 1)) / span;
    }
    if (built) {
      this.lumaTable.set(built.luma);
      this.chromaTable.set(built.chroma);
    } else this.buildYuvTables();
  }

  private buildYuvTables(): void {
    const lumaTable = this.lumaTable;
    const chromaTable = this.chromaTable;
    const rgb = this.rgb;
    const strength = this.strength;
    for (let uLevel = 0; uLevel < CHROMA_LEVELS; uLevel++) {
      const uValue = Math.min(255, uLevel * 4);
      for (let vLevel = 0; vLevel < CHROMA_LEVELS; vLevel++) {
        const vValue = Math.min(255, vLevel * 4);
        const redChroma = this.rFromV[vValue]!;
        const greenChroma = this.gFromU[uValue]! + this.gFromV[vValue]!;
        const blueChroma = this.bFromU[uValue]!;
        const cell = (uLevel * CHROMA_LEVELS + vLevel) * CELL;
        for (let luma = 0; luma < 256; luma++) {
          const yTerm = this.yTerm[luma]!;
          const red = clamp255(yTerm + redChroma);
          const green = clamp255(yTerm + greenChroma);
          const blue = clamp255(yTerm + blueChroma);
          this.lookup(red, green, blue);
          const outRed = red + strength * (rgb[0]! - red);
          const outGreen = green + strength * (rgb[1]! - green);
          const outBlue = blue + strength * (rgb[2]! - blue);
          lumaTable[cell + luma] = clampByte(16 + Y_FROM_R * outRed + Y_FROM_G * outGreen + Y_FROM_B * outBlue);
          const outU = clampByte(128 + U_FROM_R * outRed + U_FROM_G * outGreen + U_FROM_B * outBlue);
          const outV = clampByte(128 + V_FROM_R * outRed + V_FROM_G * outGreen + V_FROM_B * outBlue);
          chromaTable[cell + luma] = outU | (outV << 16);
        }
      }
    }
  }

  apply(frame: Frame, _clock: FrameClock): void {
    if (!this.lut || this.strength === 0) return;
    const { width, height, y, u, v } = frame;
    const lumaTable = this.lumaTable;
    const chromaTable = this.chromaTable;
    const chromaWidth = Math.ceil(width / 2);
    const pairs = width >> 1;
    for (let row = 0; row + 1 < height; row += 2) {
      let top = row * width;
      let bottom = top + width;
      let chromaIndex = (row >> 1) * chromaWidth;
      // Whole 2×2 blocks: the hot loop, straight-line code with no bounds to test.
      for (let pair = 0; pair < pairs; pair++, chromaIndex++, top += 2, bottom += 2) {
        const uValue = u[chromaIndex]!;
        const vValue = v[chromaIndex]!;
        const uFraction = uValue & 3;
        const vFraction = vValue & 3;
        const w00 = (4 - uFraction) * (4 - vFraction);
        const w01 = (4 - uFraction) * vFraction;
        const w10 = uFraction * (4 - vFraction);
        const w11 = uFraction * vFraction;
        const c00 = ((uValue >> 2) * CHROMA_LEVELS + (vValue >> 2)) * CELL;
        const c01 = c00 + CELL;
        const c10 = c00 + U_STRIDE;
        const c11 = c10 + CELL;
        const a = y[top]!;
        const b = y[top + 1]!;
        const c = y[bottom]!;
        const d = y[bottom + 1]!;
        y[top] = (w00 * lumaTable[c00 + a]! + w01 * lumaTable[c01 + a]! + w10 * lumaTable[c10 + a]! + w11 * lumaTable[c11 + a]! + 8) >> 4;
        y[top + 1] = (w00 * lumaTable[c00 + b]! + w01 * lumaTable[c01 + b]! + w10 * lumaTable[c10 + b]! + w11 * lumaTable[c11 + b]! + 8) >> 4;
        y[bottom] = (w00 * lumaTable[c00 + c]! + w01 * lumaTable[c01 + c]! + w10 * lumaTable[c10 + c]! + w11 * lumaTable[c11 + c]! + 8) >> 4;
        y[bottom + 1] = (w00 * lumaTable[c00 + d]! + w01 * lumaTable[c01 + d]! + w10 * lumaTable[c10 + d]! + w11 * lumaTable[c11 + d]! + 8) >> 4;
        // Chroma at the block's mean luma, not the mean of four lookups: a quarter of the reads, 0.15 dB less against ffmpeg.
        const mean = (a + b + c + d + 2) >> 2;
        const packed = w00 * chromaTable[c00 + mean]! + w01 * chromaTable[c01 + mean]! + w10 * chromaTable[c10 + mean]! + w11 * chromaTable[c11 + mean]! + PACKED_HALF;
        u[chromaIndex] = (packed & 0xffff) >> 4;
        v[chromaIndex] = packed >>> 20;
      }
      if (width & 1) this.applyBlock(frame, row, width - 1);
    }
    if (height & 1) for (let column = 0; column < width; column += 2) this.applyBlock(frame, height - 1, column);
  }

  /** One block at the right or bottom edge of an odd-sized frame (1 or 2 pixels), the same way as the hot loop. */
  private applyBlock(frame: Frame, row: number, column: number): void {
    const { width, height, y, u, v } = frame;
    const chromaIndex = (row >> 1) * Math.ceil(width / 2) + (column >> 1);
    const uValue = u[chromaIndex]!;
    const vValue = v[chromaIndex]!;
    const uFraction = uValue & 3;
    const vFraction = vValue & 3;
    const w00 = (4 - uFraction) * (4 - vFraction);
    const w01 = (4 - uFraction) * vFraction;
    const w10 = uFraction * (4 - vFraction);
    const w11 = uFraction * vFraction;
    const c00 = ((uValue >> 2) * CHROMA_LEVELS + (vValue >> 2)) * CELL;
    const lumaTable = this.lumaTable;
    let sum = 0;
    let count = 0;
    for (let dy = 0; dy < 2 && row + dy < height; dy++) {
      for (let dx = 0; dx < 2 && column + dx < width; dx++) {
        const index = (row + dy) * width + column + dx;
        const luma = y[index]!;
        sum += luma;
        count++;
        y[index] = (w00 * lumaTable[c00 + luma]! + w01 * lumaTable[c00 + CELL + luma]! + w10 * lumaTable[c00 + U_STRIDE + luma]! + w11 * lumaTable[c00 + U_STRIDE + CELL + luma]! + 8) >> 4;
      }
    }
    const mean = Math.round(sum / count);
    const chromaTable = this.chromaTable;
    const packed = w00 * chromaTable[c00 + mean]! + w01 * chromaTable[c00 + CELL + mean]! + w10 * chromaTable[c00 + U_STRIDE + mean]! + w11 * chromaTable[c00 + U_STRIDE + CELL + mean]! + PACKED_HALF;
    u[chromaIndex] = (packed & 0xffff) >> 4;
    v[chromaIndex] = packed >>> 20;
  }

  /**
   * The reference path: every pixel through RGB and the LUT, as ffmpeg's lut3d does. Slower than
   * apply(); tests and benchmarks compare the two.
   */
  applyExact(frame: Frame): void {
    if (!this.lut || this.strength === 0) return;
    const { width, height, y, u, v } = frame;
    const chromaWidth = Math.ceil(width / 2);
    const rgb = this.rgb;
    const strength = this.strength;
    for (let row = 0; row < height; row += 2) {
      for (let column = 0; column < width; column += 2) {
        const chromaIndex = (row >> 1) * chromaWidth + (column >> 1);
        const uValue = u[chromaIndex]!;
        const vValue = v[chromaIndex]!;
        const rChroma = this.rFromV[vValue]!;
        const gChroma = this.gFromU[uValue]! + this.gFromV[vValue]!;
        const bChroma = this.bFromU[uValue]!;
        let uSum = 0;
        let vSum = 0;
        let count = 0;
        for (let dy = 0; dy < 2 && row + dy < height; dy++) {
          for (let dx = 0; dx < 2 && column + dx < width; dx++) {
            const index = (row + dy) * width + column + dx;
            const luma = this.yTerm[y[index]!]!;
            const red = clamp255(luma + rChroma);
            const green = clamp255(luma + gChroma);
            const blue = clamp255(luma + bChroma);
            this.lookup(red, green, blue);
            const outRed = red + strength * (rgb[0]! - red);
            const outGreen = green + strength * (rgb[1]! - green);
            const outBlue = blue + strength * (rgb[2]! - blue);
            y[index] = clampByte(16 + Y_FROM_R * outRed + Y_FROM_G * outGreen + Y_FROM_B * outBlue);
            uSum += 128 + U_FROM_R * outRed + U_FROM_G * outGreen + U_FROM_B * outBlue;
            vSum += 128 + V_FROM_R * outRed + V_FROM_G * outGreen + V_FROM_B * outBlue;
            count++;
          }
        }
        u[chromaIndex] = clampByte(uSum / count);
        v[chromaIndex] = clampByte(vSum / count);
      }
    }
  }

  close(): void {
    this.lut = undefined;
  }

  /** LUT output for an RGB colour (0–255 each) into this.rgb, scaled back to 0–255. */
  private lookup(red: number, green: number, blue: number): void {
    const lut = this.lut!;
    const size = lut.size;
    const last = size - 1;
    const table = lut.table;
    const r = clampGrid(red * this.scale[0]! + this.offset[0]!, last);
    const g = clampGrid(green * this.scale[1]! + this.offset[1]!, last);
    const b = clampGrid(blue * this.scale[2]! + this.offset[2]!, last);
    const out = this.rgb;
    if (this.interp === 'nearest') {
      const index = ((Math.round(b) * size + Math.round(g)) * size + Math.round(r)) * 3;
      out[0] = table[index]! * 255;
      out[1] = table[index + 1]! * 255;
      out[2] = table[index + 2]! * 255;
      return;
    }
    const r0 = Math.min(Math.floor(r), last - 1);
    const g0 = Math.min(Math.floor(g), last - 1);
    const b0 = Math.min(Math.floor(b), last - 1);
    const fr = r - r0;
    const fg = g - g0;
    const fb = b - b0;
    const strideG = size * 3;
    const strideB = size * size * 3;
    const c000 = ((b0 * size + g0) * size + r0) * 3;
    const c100 = c000 + 3;
    const c010 = c000 + strideG;
    const c110 = c010 + 3;
    const c001 = c000 + strideB;
    const c101 = c001 + 3;
    const c011 = c001 + strideG;
    const c111 = c011 + 3;
    for (let channel = 0; channel < 3; channel++) {
      const v000 = table[c000 + channel]!;
      const v111 = table[c111 + channel]!;
      let value: number;
      if (this.interp === 'trilinear') {
        const x00 = v000 + fr * (table[c100 + channel]! - v000);
        const x10 = table[c010 + channel]! + fr * (table[c110 + channel]! - table[c010 + channel]!);
        const x01 = table[c001 + channel]! + fr * (table[c101 + channel]! - table[c001 + channel]!);
        const x11 = table[c011 + channel]! + fr * (v111 - table[c011 + channel]!);
        const y0 = x00 + fg * (x10 - x00);
        const y1 = x01 + fg * (x11 - x01);
        value = y0 + fb * (y1 - y0);
      } else if (fr > fg) {
        if (fg > fb) value = (1 - fr) * v000 + (fr - fg) * table[c100 + channel]! + (fg - fb) * table[c110 + channel]! + fb * v111;
        else if (fr > fb) value = (1 - fr) * v000 + (fr - fb) * table[c100 + channel]! + (fb - fg) * table[c101 + channel]! + fg * v111;
        else value = (1 - fb) * v000 + (fb - fr) * table[c001 + channel]! + (fr - fg) * table[c101 + channel]! + fg * v111;
      } else if (fb > fg) {
        value = (1 - fb) * v000 + (fb - fg) * table[c001 + channel]! + (fg - fr) * table[c011 + channel]! + fr * v111;
      } else if (fb > fr) {
        value = (1 - fg) * v000 + (fg - fb) * table[c010 + channel]! + (fb - fr) * table[c011 + channel]! + fr * v111;
      } else {
        value = (1 - fg) * v000 + (fg - fr) * table[c010 + channel]! + (fr - fb) * table[c110 + channel]! + fb * v111;
      }
      out[channel] = value * 255;
    }
  }
}

function clamp255(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : value;
}


function clampGrid(value: number, last: number): number {
  return value < 0 ? 0 : value > last ? last : value;
}
