import { z } from 'zod';
import type { Frame } from './frame.js';
import type { ResolutionControl } from './transform.js';

/** `auto`: full resolution until the chain's deadline is tight; `full` / `half`: fixed by the operator. */
export const resolutionChoice = z.enum(['auto', 'full', 'half']).default('auto');
export type ResolutionChoice = z.infer<typeof resolutionChoice>;

/**
 * The half-resolution working copy of a transform that can run its kernel at half size (a quarter
 * of the samples): planes are box-averaged down into buffers allocated once per frame size, the
 * kernel runs there, and the result is scaled back up bilinearly. Also the control the chain uses
 * to ask for half resolution while the deadline is tight.
 */
export class HalfResolution implements ResolutionControl {
  choice: ResolutionChoice = 'auto';
  /** Half-size luma, then chroma at half of that; valid after prepare(). */
  width = 0;
  height = 0;
  y = new Uint8Array(0);
  u = new Uint8Array(0);
  v = new Uint8Array(0);
  /** One row of vertical blends for upscalePlane. */
  scratch = new Uint16Array(0);
  /** Full-size luma written four samples at a time, then copied into the frame (frames need not be aligned). */
  private upscaledWords = new Uint32Array(0);
  private upscaledBytes = new Uint8Array(0);
  private requested = false;
  private preparedWidth = 0;
  private preparedHeight = 0;

  get adaptive(): boolean {
    return this.choice === 'auto';
  }

  get active(): boolean {
    return this.choice === 'half' || (this.choice === 'auto' && this.requested);
  }

  request(half: boolean): void {
    this.requested = half;
  }

  /** Sizes the working planes for a frame of width×height; allocates only when the size changes. */
  prepare(width: number, height: number): void {
    if (width === this.preparedWidth && height === this.preparedHeight) return;
    this.width = Math.ceil(width / 2);
    this.height = Math.ceil(height / 2);
    const chromaWidth = Math.ceil(this.width / 2);
    const chromaHeight = Math.ceil(this.height / 2);
    this.y = new Uint8Array(this.width * this.height);
    this.u = new Uint8Array(chromaWidth * chromaHeight);
    this.v = new Uint8Array(chromaWidth * chromaHeight);
    this.scratch = new Uint16Array(this.width + 2);
    if (WORDS_ARE_LITTLE_ENDIAN && width % 4 === 0) {
      this.upscaledWords = new Uint32Array((width * height) / 4);
      this.upscaledBytes = new Uint8Array(this.upscaledWords.buffer);
    } else {
      this.upscaledWords = new Uint32Array(0);
      this.upscaledBytes = new Uint8Array(0);
    }
    this.preparedWidth = width;
    this.preparedHeight = height;
  }

  /** Box-averages the planes of `frame` into the working planes (prepare() first). */
  downscale(frame: Frame, planes: 'all' | 'luma'): void {
    downscalePlane(frame.y, frame.width, frame.height, this.y);
    if (planes === 'luma') return;
    const chromaWidth = Math.ceil(frame.width / 2);
    const chromaHeight = Math.ceil(frame.height / 2);
    downscalePlane(frame.u, chromaWidth, chromaHeight, this.u);
    downscalePlane(frame.v, chromaWidth, chromaHeight, this.v);
  }

  /** Scales the working planes back up into `frame`. */
  upscale(frame: Frame, planes: 'all' | 'luma'): void {
    if (this.upscaledBytes.length === frame.y.length) {
      upscalePlaneInWords(this.y, frame.width, frame.height, this.upscaledWords, this.scratch);
      frame.y.set(this.upscaledBytes);
    } else {
      upscalePlane(this.y, frame.width, frame.height, frame.y, this.scratch);
    }
    if (planes === 'luma') return;
    const chromaWidth = Math.ceil(frame.width / 2);
    const chromaHeight = Math.ceil(frame.height / 2);
    upscalePlane(this.u, chromaWidth, chromaHeight, frame.u, this.scratch);
    upscalePlane(this.v, chromaWidth, chromaHeight, frame.v, this.scratch);
  }
}

/** Whether a Uint32 holds its first byte in the low bits, as the packed upscale assumes. */
const WORDS_ARE_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** 2×2 box average of a width×height plane into a ceil(width/2)×ceil(height/2) one (edges replicated). */
export function downscalePlane(source: Uint8Array, width: number, height: number, target: Uint8Array): void {
  const halfWidth = Math.ceil(width / 2);
  const halfHeight = Math.ceil(height / 2);
  const evenWidth = width & ~1;
  for (let row = 0; row < halfHeight; row++) {
    const top = 2 * row * width;
    const bottom = 2 * row + 1 < height ? top + width : top;
    const out = row * halfWidth;
    let column = 0;
    for (let x = 0; x < evenWidth; x += 2, column++) {
      target[out + column] = (source[top + x]! + source[top + x + 1]! + source[bottom + x]! + source[bottom + x + 1]! + 2) >> 2;
    }
    if (evenWidth < width) target[out + column] = (source[top + evenWidth]! + source[bottom + evenWidth]! + 1) >> 1;
  }
}

/**
 * The vertical half of the bilinear upscale for output row `row`: scratch[1 + i] = 3·near + far
 * (0…1020) of the two half rows around it; the borders repeat the edge samples.
 */
function blendHalfRows(source: Uint8Array, halfWidth: number, halfHeight: number, row: number, scratch: Uint16Array): void {
  const lastHalfRow = halfHeight - 1;
  const near = row >> 1;
  // Even output rows lean on the half row above, odd ones on the one below.
  const far = (row & 1) === 0 ? (near > 0 ? near - 1 : 0) : near < lastHalfRow ? near + 1 : lastHalfRow;
  const nearStart = near * halfWidth;
  const farStart = far * halfWidth;
  for (let column = 0; column < halfWidth; column++) scratch[column + 1] = 3 * source[nearStart + column]! + source[farStart + column]!;
  scratch[0] = scratch[1]!;
  scratch[halfWidth + 1] = scratch[halfWidth]!;
}

/**
 * Bilinear 2× upscale of a ceil(width/2)×ceil(height/2) plane back to width×height, sample centres
 * aligned (weights 3/4 and 1/4 each way). `scratch` holds one row of vertical blends (≥ half width + 2).
 */
export function upscalePlane(source: Uint8Array, width: number, height: number, target: Uint8Array, scratch: Uint16Array): void {
  const halfWidth = Math.ceil(width / 2);
  const halfHeight = Math.ceil(height / 2);
  for (let row = 0; row < height; row++) {
    blendHalfRows(source, halfWidth, halfHeight, row, scratch);
    const out = row * width;
    const evenWidth = width & ~1;
    let column = 1;
    for (let x = 0; x < evenWidth; x += 2, column++) {
      const centre = 3 * scratch[column]!;
      target[out + x] = (centre + scratch[column - 1]! + 8) >> 4;
      target[out + x + 1] = (centre + scratch[column + 1]! + 8) >> 4;
    }
    if (evenWidth < width) target[out + evenWidth] = (3 * scratch[column]! + scratch[column - 1]! + 8) >> 4;
  }
}

/**
 * upscalePlane for widths that are a multiple of 4, packing four output samples per 32-bit store
 * (a quarter of the stores: about a third faster). `target` holds width·height/4 words.
 */
export function upscalePlaneInWords(source: Uint8Array, width: number, height: number, target: Uint32Array, scratch: Uint16Array): void {
  const halfWidth = width / 2;
  const halfHeight = Math.ceil(height / 2);
  const words = width / 4;
  for (let row = 0; row < height; row++) {
    blendHalfRows(source, halfWidth, halfHeight, row, scratch);
    const out = row * words;
    // Word j covers outputs 4j…4j+3, centred on half samples 2j and 2j+1 (scratch 2j+1, 2j+2).
    for (let word = 0, column = 1; word < words; word++, column += 2) {
      const before = scratch[column - 1]!;
      const first = scratch[column]!;
      const second = scratch[column + 1]!;
      const after = scratch[column + 2]!;
      target[out + word] =
        ((3 * first + before + 8) >> 4) | (((3 * first + second + 8) >> 4) << 8) | (((3 * second + first + 8) >> 4) << 16) | (((3 * second + after + 8) >> 4) << 24);
    }
  }
}
