import type { Frame, FrameClock } from '../frame.js';
import { Sketch, type SketchParams } from '../sketch.js';
import type { WasmKernels } from './wasm-kernels.js';

/** Byte offsets of the reference's tables in one block of the kernels' memory (tone: 3507 bytes; paper: 256×256 u16). */
const FULL_RANGE = 0;
const DODGE_RECIPROCAL = 256;
const TONE = 1280;
const PAPER = 4800;

/** Sketch with the WebAssembly kernel: the reference's tables, box blur, dodge and paper; its half-resolution scalers too. */
export class WasmSketch extends Sketch {
  readonly backend = 'wasm';
  private readonly kernels: WasmKernels;
  private tables = 0;
  private uploaded = false;
  /** The full-range copy (luma size), the column sums (i32 per column), the half-size luma and one upscale row, in one block. */
  private buffers = 0;
  private buffersFor = '';
  private fullRangeLuma = 0;
  private blurColumnSums = 0;
  private halfLuma = 0;
  private upscaleRow = 0;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.kernels = options.kernels;
    this.tables = this.kernels.heap.allocate(PAPER + this.paperTile.byteLength);
  }

  override configure(params: SketchParams): void {
    super.configure(params);
    this.uploaded = false;
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    const kernels = this.kernels;
    const { width, height } = frame;
    if (!this.uploaded) this.uploadTables();
    this.sizeBuffers(width, height);
    const tables = this.tables;
    const luma = (plane: number, lumaWidth: number, lumaHeight: number, radius: number): void =>
      kernels.exports.sketchLuma(plane, lumaWidth, lumaHeight, radius, this.fullRangeLuma, this.blurColumnSums, tables + FULL_RANGE, tables + DODGE_RECIPROCAL, tables + TONE, tables + PAPER);
    const planes = kernels.enter(frame);
    if (this.resolution.active) {
      kernels.exports.downscalePlane(planes.y, width, height, this.halfLuma);
      luma(this.halfLuma, Math.ceil(width / 2), Math.ceil(height / 2), Math.max(1, Math.round(this.settings.blur / 2)));
      kernels.exports.upscalePlane(this.halfLuma, width, height, planes.y, this.upscaleRow);
    } else {
      luma(planes.y, width, height, this.settings.blur);
    }
    kernels.leave(frame);
    frame.u.fill(128);
    frame.v.fill(128);
  }

  override close(): void {
    this.kernels.heap.release(this.tables);
    this.kernels.heap.release(this.buffers);
    this.tables = 0;
    this.buffers = 0;
    this.buffersFor = '';
  }

  private uploadTables(): void {
    const kernels = this.kernels;
    kernels.upload(this.tables + FULL_RANGE, this.fullRange);
    kernels.upload(this.tables + DODGE_RECIPROCAL, this.dodgeReciprocal);
    kernels.upload(this.tables + TONE, this.tone);
    kernels.upload(this.tables + PAPER, this.paperTile);
    this.uploaded = true;
  }

  /** Full-size buffers also serve the half-resolution path, so switching never allocates. */
  private sizeBuffers(width: number, height: number): void {
    const key = `${width}x${height}`;
    if (key === this.buffersFor) return;
    const heap = this.kernels.heap;
    heap.release(this.buffers);
    const parts: number[] = [];
    this.buffers = heap.allocateParts([width * height, 4 * width, Math.ceil(width / 2) * Math.ceil(height / 2), 2 * (Math.ceil(width / 2) + 2)], parts);
    [this.fullRangeLuma, this.blurColumnSums, this.halfLuma, this.upscaleRow] = parts as [number, number, number, number];
    this.buffersFor = key;
  }
}
