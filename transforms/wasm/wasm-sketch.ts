import type { Frame, FrameClock } from '../frame.js';
import { Sketch, type SketchParams } from '../sketch.js';
import type { WasmKernels } from './wasm-kernels.js';
import { WasmScratch } from './wasm-scratch.js';

/** Byte offsets of the reference's tables in one block of the kernels' memory (tone: 3507 bytes; paper: 256×256 u16). */
const FULL_RANGE = 0;
const DODGE_RECIPROCAL = 256;
const TONE = 1280;
const PAPER = 4800;

/** Sketch with the WebAssembly kernel: the reference's tables, box blur, dodge and paper; its half-resolution scalers too. */
export class WasmSketch extends Sketch {
  readonly backend = 'wasm';
  private readonly scratch: WasmScratch;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.scratch = new WasmScratch({
      kernels: options.kernels,
      tableBytes: PAPER + this.paperTile.byteLength,
      tables: () => [[FULL_RANGE, this.fullRange], [DODGE_RECIPROCAL, this.dodgeReciprocal], [TONE, this.tone], [PAPER, this.paperTile]],
      bufferBytes,
    });
  }

  override configure(params: SketchParams): void {
    super.configure(params);
    // The base constructor configures before the scratch exists; its tables start out stale anyway.
    this.scratch?.invalidateTables();
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    const { kernels, tables } = this.scratch;
    const { width, height } = frame;
    const [fullRangeLuma, blurColumnSums, halfLuma, upscaleRow] = this.scratch.prepare(width, height) as [number, number, number, number];
    const luma = (plane: number, lumaWidth: number, lumaHeight: number, radius: number): void =>
      kernels.exports.sketchLuma(plane, lumaWidth, lumaHeight, radius, fullRangeLuma, blurColumnSums, tables + FULL_RANGE, tables + DODGE_RECIPROCAL, tables + TONE, tables + PAPER);
    const planes = kernels.enter(frame);
    if (this.resolution.active) {
      kernels.exports.downscalePlane(planes.y, width, height, halfLuma);
      luma(halfLuma, Math.ceil(width / 2), Math.ceil(height / 2), Math.max(1, Math.round(this.settings.blur / 2)));
      kernels.exports.upscalePlane(halfLuma, width, height, planes.y, upscaleRow);
    } else {
      luma(planes.y, width, height, this.settings.blur);
    }
    kernels.leave(frame);
    frame.u.fill(128);
    frame.v.fill(128);
  }

  override close(): void {
    this.scratch.close();
  }
}

/** The full-range copy (luma size), the column sums (i32 per column), the half-size luma and one upscale row; full-size buffers also serve the half-resolution path, so switching never allocates. */
const bufferBytes = (width: number, height: number): readonly number[] => [width * height, 4 * width, Math.ceil(width / 2) * Math.ceil(height / 2), 2 * (Math.ceil(width / 2) + 2)];
