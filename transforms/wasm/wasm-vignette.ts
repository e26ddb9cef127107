import type { Frame, FrameClock } from '../frame.js';
import { Vignette } from '../vignette.js';
import type { WasmKernels } from './wasm-kernels.js';

/** Vignette with the WebAssembly SIMD kernel: the reference's 8.8 gains, copied in when they are rebuilt. */
export class WasmVignette extends Vignette {
  readonly backend = 'wasm';
  private readonly kernels: WasmKernels;
  private lumaGains = 0;
  private chromaGains = 0;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.kernels = options.kernels;
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (this.settings.strength === 0) return;
    const kernels = this.kernels;
    const key = `${frame.width}x${frame.height}`;
    if (key !== this.builtFor) {
      this.build(frame.width, frame.height, key);
      this.releaseGains();
      this.lumaGains = kernels.heap.allocate(this.lumaGain.byteLength);
      this.chromaGains = kernels.heap.allocate(this.chromaGain.byteLength);
      kernels.upload(this.lumaGains, this.lumaGain);
      kernels.upload(this.chromaGains, this.chromaGain);
    }
    const planes = kernels.enter(frame);
    kernels.exports.scaleAround(planes.y, this.lumaGains, frame.y.length, 16);
    kernels.exports.scaleAround(planes.u, this.chromaGains, frame.u.length, 128);
    kernels.exports.scaleAround(planes.v, this.chromaGains, frame.v.length, 128);
    kernels.leave(frame);
  }

  override close(): void {
    this.releaseGains();
  }

  private releaseGains(): void {
    this.kernels.heap.release(this.lumaGains);
    this.kernels.heap.release(this.chromaGains);
    this.lumaGains = 0;
    this.chromaGains = 0;
  }
}
