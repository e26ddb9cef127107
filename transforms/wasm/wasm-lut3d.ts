import type { CubeLut } from '../cube-file.js';
import type { Frame, FrameClock } from '../frame.js';
import { Lut3d, type Lut3dParams } from '../lut3d.js';
import type { WasmKernels } from './wasm-kernels.js';

/** Lut3d with the WebAssembly kernel: the reference's YUV tables, copied into the kernels' memory at configure time. */
export class WasmLut3d extends Lut3d {
  readonly backend = 'wasm';
  private readonly kernels: WasmKernels;
  private lumaPointer = 0;
  private chromaPointer = 0;

  constructor(options: { kernels: WasmKernels; resolveFile?: (name: string) => string }) {
    super(options.resolveFile);
    this.kernels = options.kernels;
  }

  override useLut(lut: CubeLut, interp: Lut3dParams['interp'] = 'tetrahedral', strength = 1): void {
    super.useLut(lut, interp, strength);
    const heap = this.kernels.heap;
    if (this.lumaPointer === 0) {
      this.lumaPointer = heap.allocate(this.lumaTable.byteLength);
      this.chromaPointer = heap.allocate(this.chromaTable.byteLength);
    }
    this.kernels.upload(this.lumaPointer, this.lumaTable);
    this.kernels.upload(this.chromaPointer, this.chromaTable);
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (!this.lut || this.strength === 0) return;
    const planes = this.kernels.enter(frame);
    this.kernels.exports.lut3d(planes.y, planes.u, planes.v, frame.width, frame.height, this.lumaPointer, this.chromaPointer);
    this.kernels.leave(frame);
  }

  override close(): void {
    super.close();
    this.kernels.heap.release(this.lumaPointer);
    this.kernels.heap.release(this.chromaPointer);
    this.lumaPointer = 0;
    this.chromaPointer = 0;
  }
}
