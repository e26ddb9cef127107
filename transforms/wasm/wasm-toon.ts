import type { Frame, FrameClock } from '../frame.js';
import { Toon, type ToonParams } from '../toon.js';
import type { WasmKernels } from './wasm-kernels.js';
import { WasmScratch } from './wasm-scratch.js';

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
  private readonly scratch: WasmScratch;
  private smoothA = 0;
  private smoothB = 0;
  private inkGains = 0;
  private halfLuma = 0;
  private upscaleRow = 0;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.kernels = options.kernels;
    this.scratch = new WasmScratch({ kernels: options.kernels, tableBytes: TABLE_BYTES });
  }

  override configure(params: ToonParams): void {
    super.configure(params);
    this.scratch.invalidateTables();
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    const kernels = this.kernels;
    const { width, height } = frame;
    if (this.scratch.takeStaleTables()) this.uploadTables();
    if (this.scratch.fit(width, height, bufferBytes)) [this.smoothA, this.smoothB, this.inkGains, this.halfLuma, this.upscaleRow] = this.scratch.parts as [number, number, number, number, number];
    const { exports } = kernels;
    const tables = this.scratch.tables;
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
    this.scratch.close();
  }

  private uploadTables(): void {
    const scratch = this.scratch;
    scratch.upload(WEIGHTS, this.neighbourWeight);
    scratch.upload(RECIPROCALS, this.reciprocal);
    scratch.upload(POSTERIZED, this.posterized);
    scratch.upload(INK_GAIN, this.inkGain);
    scratch.upload(SATURATED, this.saturated);
  }
}

/** Smoothing planes A and B (luma size), the ink gains (u16, luma size), the half-size luma and one upscale row; full-size buffers also serve the half-resolution path, so switching never allocates. */
const bufferBytes = (width: number, height: number): readonly number[] => [width * height, width * height, 2 * width * height, Math.ceil(width / 2) * Math.ceil(height / 2), 2 * (Math.ceil(width / 2) + 2)];
