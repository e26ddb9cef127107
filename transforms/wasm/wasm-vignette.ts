import type { Frame, FrameClock } from '../frame.js';
import { Vignette } from '../vignette.js';
import type { WasmKernels } from './wasm-kernels.js';
import { WasmScratch } from './wasm-scratch.js';

/** Vignette with the WebAssembly SIMD kernel: the reference's 8.8 gains, copied in when they are rebuilt. */
export class WasmVignette extends Vignette {
  readonly backend = 'wasm';
  /** The luma and chroma gains, in one block sized for the frame. */
  private readonly scratch: WasmScratch;
  private readonly gainBytes = (): readonly number[] => [this.lumaGain.byteLength, this.chromaGain.byteLength];

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.scratch = new WasmScratch({ kernels: options.kernels });
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (this.settings.strength === 0) return;
    const { kernels, parts } = this.scratch;
    const key = `${frame.width}x${frame.height}`;
    if (key !== this.builtFor) {
      this.build(frame.width, frame.height, key);
      this.scratch.fit(frame.width, frame.height, this.gainBytes);
      kernels.upload(parts[0]!, this.lumaGain);
      kernels.upload(parts[1]!, this.chromaGain);
    }
    const lumaGains = parts[0]!;
    const chromaGains = parts[1]!;
    const planes = kernels.enter(frame);
    kernels.exports.scaleAround(planes.y, lumaGains, frame.y.length, 16);
    kernels.exports.scaleAround(planes.u, chromaGains, frame.u.length, 128);
    kernels.exports.scaleAround(planes.v, chromaGains, frame.v.length, 128);
    kernels.leave(frame);
  }

  override close(): void {
    this.scratch.close();
  }
}
