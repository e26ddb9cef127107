import type { Frame, FrameClock } from '../frame.js';
import { Pixelate } from '../pixelate.js';
import type { WasmKernels } from './wasm-kernels.js';

/** Pixelate with the WebAssembly SIMD kernel (column sums 16 at a time, rows filled and copied in bulk). */
export class WasmPixelate extends Pixelate {
  readonly backend = 'wasm';
  private readonly kernels: WasmKernels;
  /** 16-bit column sums of one block row, for the widest plane seen so far. */
  private columnSums = 0;
  private columnSumsWidth = 0;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.kernels = options.kernels;
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    const kernels = this.kernels;
    if (this.columnSumsWidth < frame.width) {
      kernels.heap.release(this.columnSums);
      this.columnSums = kernels.heap.allocate(2 * (frame.width + 16));
      this.columnSumsWidth = frame.width;
    }
    const planes = kernels.enter(frame);
    const chromaWidth = Math.ceil(frame.width / 2);
    const chromaHeight = Math.ceil(frame.height / 2);
    kernels.exports.pixelatePlane(planes.y, frame.width, frame.height, this.blockSize, this.columnSums);
    kernels.exports.pixelatePlane(planes.u, chromaWidth, chromaHeight, this.blockSize / 2, this.columnSums);
    kernels.exports.pixelatePlane(planes.v, chromaWidth, chromaHeight, this.blockSize / 2, this.columnSums);
    kernels.leave(frame);
  }

  override close(): void {
    this.kernels.heap.release(this.columnSums);
    this.columnSums = 0;
    this.columnSumsWidth = 0;
  }
}
