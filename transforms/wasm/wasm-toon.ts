import type { Frame, FrameClock } from '../frame.js';
import { Toon, type ToonParams } from '../toon.js';
import type { WasmKernels } from './wasm-kernels.js';

/** Byte offsets of the reference's tables in one block of the kernels' memory. */
const WEIGHTS = 0;
const RECIPROCALS = 512;
const POSTERIZED = 1600;
const INK_GAIN = 1856;
const SATURATED = 2880;
const TABLE_BYTES = 3392;

/**
 * Toon with the WebAssembly kernels: the reference's tables and the same smoothing, Sobel inking
 * and posterizing; at half resolution the box downscale and bilinear upscale run there too.
 */
export class WasmToon extends Toon {
  readonly backend = 'wasm';
  private readonly kernels: WasmKernels;
  private tables = 0;
  private uploaded = false;
  /** Smoothing planes A and B (luma size), the ink gains (u16, luma size), the half-size luma and one upscale row, in one block. */
  private buffers = 0;
  private buffersFor = '';
  private smoothA = 0;
  private smoothB = 0;
  private inkGains = 0;
  private halfLuma = 0;
  private upscaleRow = 0;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.kernels = options.kernels;
    this.tables = this.kernels.heap.allocate(TABLE_BYTES);
  }

  override configure(params: ToonParams): void {
    super.configure(params);
    this.uploaded = false;
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    const kernels = this.kernels;
    const { width, height } = frame;
    if (!this.uploaded) this.uploadTables();
    this.sizeBuffers(width, height);
    const { exports } = kernels;
    const tables = this.tables;
    const chromaWidth = Math.ceil(width / 2);
    const chromaHeight = Math.ceil(height / 2);
    const planes = kernels.enter(frame);
    if (this.resolution.active) {
      const halfWidth = Math.ceil(width / 2);
      const halfHeight = Math.ceil(height / 2);
      exports.downscalePlane(planes.y, width, height, this.halfLuma);
      // One pass at half size smooths about as far as two at full size.
      exports.toonLuma(this.halfLuma, halfWidth, halfHeight, Math.ceil(this.settings.smoothing / 2), this.smoothA, this.smoothB, this.inkGains, tables + WEIGHTS, tables + RECIPROCALS, tables + POSTERIZED, tables + INK_GAIN);
      exports.upscalePlane(this.halfLuma, width, height, planes.y, this.upscaleRow);
      exports.inkChroma(planes.u, planes.v, chromaWidth, chromaHeight, this.inkGains, halfWidth, 1, tables + SATURATED);
    } else {
      exports.toonLuma(planes.y, width, height, this.settings.smoothing, this.smoothA, this.smoothB, this.inkGains, tables + WEIGHTS, tables + RECIPROCALS, tables + POSTERIZED, tables + INK_GAIN);
      exports.inkChroma(planes.u, planes.v, chromaWidth, chromaHeight, this.inkGains, width, 2, tables + SATURATED);
    }
    kernels.leave(frame);
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
    kernels.upload(this.tables + WEIGHTS, this.neighbourWeight);
    kernels.upload(this.tables + RECIPROCALS, this.reciprocal);
    kernels.upload(this.tables + POSTERIZED, this.posterized);
    kernels.upload(this.tables + INK_GAIN, this.inkGain);
    kernels.upload(this.tables + SATURATED, this.saturated);
    this.uploaded = true;
  }

  /** Full-size buffers also serve the half-resolution path, so switching never allocates. */
  private sizeBuffers(width: number, height: number): void {
    const key = `${width}x${height}`;
    if (key === this.buffersFor) return;
    const samples = width * height;
    const heap = this.kernels.heap;
    heap.release(this.buffers);
    const parts: number[] = [];
    this.buffers = heap.allocateParts([samples, samples, 2 * samples, Math.ceil(width / 2) * Math.ceil(height / 2), 2 * (Math.ceil(width / 2) + 2)], parts);
    [this.smoothA, this.smoothB, this.inkGains, this.halfLuma, this.upscaleRow] = parts as [number, number, number, number, number];
    this.buffersFor = key;
  }
}
