import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import type { Transform } from './transform.js';
import { xorshift32 } from './xorshift32.js';

export const grainParams = z
  .object({
    /** Grain strength (0…1, 1 ≈ ±40 luma levels). */
    amount: z.number().min(0).max(1).default(0.3),
    /** Same seed and frame number, same grain: renders are repeatable. */
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
  })
  .strict();
export type GrainParams = z.infer<typeof grainParams>;

const TILE = 256;
/** 32-bit words in a tile row (4 pixels each), and twice that in the packed tiles so a run of 64 never wraps. */
const TILE_WORDS = TILE / 4;
const PACKED_ROW = 2 * TILE_WORDS;
/** Added to every 16-bit lane of the packed noise: keeps lane sums positive (a sum below 256 means "clamp to 0"). */
const LANE_OFFSET = 256;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Film grain on luma: a 256×256 tile of noise made from the seed once, read at an offset derived
 * from the seed and the frame number, so every frame differs but a render can be repeated exactly.
 * apply() adds four pixels per 32-bit read: the scaled noise is packed at configure time, for each
 * of the four byte phases a frame's offset can have, as two words of 16-bit lanes (even and odd bytes).
 */
export class Grain implements Transform<GrainParams> {
  readonly name = 'grain';
  readonly params = grainParams;
  readonly heavy = false;
  protected readonly noise = new Int8Array(TILE * TILE);
  private readonly state = new Uint32Array(1);
  protected amount = 0.3;
  private seed = 1;
  protected readonly scaled = new Int16Array(256);
  /** Scaled noise + LANE_OFFSET of bytes 0 and 2 (even) and 1 and 3 (odd) of each word, by [phase][row][word]: 512 KB each. */
  private readonly evenLanes = new Int32Array(4 * TILE * PACKED_ROW);
  private readonly oddLanes = new Int32Array(4 * TILE * PACKED_ROW);
  /** 32-bit views of frame buffers already seen; the worker reuses its frame buffers, so this stops growing. */
  private readonly wordViews = new WeakMap<ArrayBufferLike, Uint32Array>();

  configure(params: GrainParams): void {
    this.amount = params.amount;
    this.seed = params.seed;
    this.state[0] = (params.seed * 2654435761) >>> 0 || 1;
    // Sum of two uniforms: a softer, roughly triangular distribution, like real grain.
    for (let index = 0; index < this.noise.length; index++) this.noise[index] = ((xorshift32(this.state) & 127) + (xorshift32(this.state) & 127)) / 2 - 64;
    for (let value = 0; value < 256; value++) this.scaled[value] = Math.round((((value << 24) >> 24) * 40 * params.amount) / 64);
    this.packLanes();
  }

  apply(frame: Frame, clock: FrameClock): void {
    if (this.amount === 0) return;
    const offset = this.tileOffset(clock.frameIndex);
    const offsetX = offset & (TILE - 1);
    const offsetY = offset >> 8;
    const { y, width, height } = frame;
    const words = this.wordView(y.buffer);
    const evenLanes = this.evenLanes;
    const oddLanes = this.oddLanes;
    for (let row = 0; row < height; row++) {
      const tileRow = (row + offsetY) & (TILE - 1);
      // Bytes before the first 4-byte boundary of the row, and after the last one, one at a time.
      const start = y.byteOffset + row * width;
      const lead = Math.min(width, (4 - (start & 3)) & 3);
      const wordCount = (width - lead) >> 2;
      this.addBytes(y, row * width, 0, lead, tileRow, offsetX);
      this.addBytes(y, row * width, lead + 4 * wordCount, width, tileRow, offsetX);
      if (wordCount === 0) continue;
      const firstNoise = lead + offsetX;
      const packedRow = ((firstNoise & 3) * TILE + tileRow) * PACKED_ROW;
      let noiseWord = packedRow + ((firstNoise >> 2) & (TILE_WORDS - 1));
      let word = (start + lead) >> 2;
      const end = word + wordCount;
      while (word < end) {
        const stop = Math.min(end, word + TILE_WORDS);
        for (; word < stop; word++, noiseWord++) {
          const pixels = words[word]!;
          // Per 16-bit lane: 256 + pixel + noise; bit 8 set means in range, bit 9 means above 255.
          const even = (pixels & 0xff00ff) + evenLanes[noiseWord]!;
          const odd = ((pixels >>> 8) & 0xff00ff) + oddLanes[noiseWord]!;
          const evenOut = (even & (((even >>> 8) & 0x10001) * 0xff)) | (((even >>> 9) & 0x10001) * 0xff);
          const oddOut = (odd & (((odd >>> 8) & 0x10001) * 0xff)) | (((odd >>> 9) & 0x10001) * 0xff);
          words[word] = evenOut | (oddOut << 8);
        }
        noiseWord -= TILE_WORDS;
      }
    }
  }

  close(): void {}

  /** Where frame `frameIndex` reads the noise tile: offsetY · 256 + offsetX (a number, so nothing is allocated per frame). */
  protected tileOffset(frameIndex: number): number {
    this.state[0] = ((this.seed + 1) * 0x9e3779b1 + frameIndex * 0x85ebca6b) >>> 0 || 1;
    const offsetX = xorshift32(this.state) & (TILE - 1);
    const offsetY = xorshift32(this.state) & (TILE - 1);
    return offsetY * TILE + offsetX;
  }

  /** Columns from–to of one row, a byte at a time (the same grain as the packed path). */
  private addBytes(y: Uint8Array, rowStart: number, from: number, to: number, tileRow: number, offsetX: number): void {
    const noiseRow = tileRow * TILE;
    for (let column = from; column < to; column++) {
      const value = y[rowStart + column]! + this.scaled[this.noise[noiseRow + ((column + offsetX) & (TILE - 1))]! & 0xff]!;
      y[rowStart + column] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }

  private packLanes(): void {
    const noiseAt = (row: number, column: number): number => this.scaled[this.noise[row * TILE + (column & (TILE - 1))]! & 0xff]! + LANE_OFFSET;
    // The pixel a byte of a word holds depends on the machine's byte order.
    const pixel = (byte: number): number => (LITTLE_ENDIAN ? byte : 3 - byte);
    for (let phase = 0; phase < 4; phase++) {
      for (let row = 0; row < TILE; row++) {
        for (let word = 0; word < PACKED_ROW; word++) {
          const column = 4 * word + phase;
          const index = (phase * TILE + row) * PACKED_ROW + word;
          this.evenLanes[index] = noiseAt(row, column + pixel(0)) | (noiseAt(row, column + pixel(2)) << 16);
          this.oddLanes[index] = noiseAt(row, column + pixel(1)) | (noiseAt(row, column + pixel(3)) << 16);
        }
      }
    }
  }

  private wordView(buffer: ArrayBufferLike): Uint32Array {
    let view = this.wordViews.get(buffer);
    if (view === undefined) {
      view = new Uint32Array(buffer, 0, buffer.byteLength >> 2);
      this.wordViews.set(buffer, view);
    }
    return view;
  }
}
