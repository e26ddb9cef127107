import type { Frame, FrameClock } from '../frame.js';
import { Toon, type ToonParams } from '../toon.js';
import type { WasmKernels } from './wasm-kernels.js';
import { WasmScratch } from './wasm-scratch.js';

/**
 * Toon with the WebAssembly kernels: the reference's tables and the same smoothing, Sobel inking
 * and posterizing; at half resolution the box downscale and bilinear upscale run there too.
 */
export class WasmToon extends Toon {
  readonly backend = 'wasm';
  private readonly scratch: WasmScratch;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.scratch = new WasmScratch({
      kernels: options.kernels,
      tables: [this.neighbourWeight, this.reciprocal, this.posterized, this.inkGain, this.saturated],
      bufferBytes,
    });
  }

  override configure(params: ToonParams): void {
    super.configure(params);
    // The base constructor configures before the scratch exists; its tables start out stale anyway.
    this.scratch?.invalidateTables();
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    const { kernels, tableOffsets } = this.scratch;
    const [weights, reciprocals, posterized, inkGain, saturated] = tableOffsets as [number, number, number, number, number];
    const { width, height } = frame;
    const [smoothA, smoothB, inkGains, halfLuma, upscaleRow] = this.scratch.prepare(width, height) as [number, number, number, number, number];
    const { exports } = kernels;
    const chromaWidth = Math.ceil(width / 2);
    const chromaHeight = Math.ceil(height / 2);
    const planes = kernels.enter(frame);
    if (this.resolution.active) {
      const halfWidth = Math.ceil(width / 2);
      const halfHeight = Math.ceil(height / 2);
      exports.downscalePlane(planes.y, width, height, halfLuma);
      // One pass at half size smooths about as far as two at full size.
      exports.toonLuma(halfLuma, halfWidth, halfHeight, Math.ceil(this.settings.smoothing / 2), smoothA, smoothB, inkGains, weights, reciprocals, posterized, inkGain);
      exports.upscalePlane(halfLuma, width, height, planes.y, upscaleRow);
      exports.inkChroma(planes.u, planes.v, chromaWidth, chromaHeight, inkGains, halfWidth, 1, saturated);
    } else {
      exports.toonLuma(planes.y, width, height, this.settings.smoothing, smoothA, smoothB, inkGains, weights, reciprocals, posterized, inkGain);
      exports.inkChroma(planes.u, planes.v, chromaWidth, chromaHeight, inkGains, width, 2, saturated);
    }
    kernels.leave(frame);
  }

  override close(): void {
    this.scratch.close();
  }
}

/** Smoothing planes A and B (luma size), the ink gains (u16, luma size), the half-size luma and one upscale row; full-size buffers also serve the half-resolution path, so switching never allocates. */
const bufferBytes = (width: number, height: number): readonly number[] => [width * height, width * height, 2 * width * height, Math.ceil(width / 2) * Math.ceil(height / 2), 2 * (Math.ceil(width / 2) + 2)];
