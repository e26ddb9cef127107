import type { Frame, FrameClock } from '../frame.js';
import { Sketch, type SketchParams } from '../sketch.js';
import type { WasmKernels } from './wasm-kernels.js';
import { WasmScratch } from './wasm-scratch.js';

/** Sketch with the WebAssembly kernel: the reference's tables, box blur, dodge and paper; its half-resolution scalers too. */
export class WasmSketch extends Sketch {
  readonly backend = 'wasm';
  private readonly scratch: WasmScratch;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.scratch = new WasmScratch({
      kernels: options.kernels,
      tables: [this.fullRange, this.dodgeReciprocal, this.tone, this.paperTile],
      bufferBytes,
    });
  }

  override configure(params: SketchParams): void {
    super.configure(params);
    // The base constructor configures before the scratch exists; its tables start out stale anyway.
    this.scratch?.invalidateTables();
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    const { kernels, tableOffsets } = this.scratch;
    const [fullRange, dodgeReciprocal, tone, paper] = tableOffsets as [number, number, number, number];
    const { width, height } = frame;
    const [fullRangeLuma, blurColumnSums, halfLuma, upscaleRow] = this.scratch.prepare(width, height) as [number, number, number, number];
    const luma = (plane: number, lumaWidth: number, lumaHeight: number, radius: number): void =>
      kernels.exports.sketchLuma(plane, lumaWidth, lumaHeight, radius, fullRangeLuma, blurColumnSums, fullRange, dodgeReciprocal, tone, paper);
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
