import { Color, type ColorParams } from '../color.js';
import type { Frame, FrameClock } from '../frame.js';
import type { WasmKernels } from './wasm-kernels.js';

/** Color with the WebAssembly SIMD kernel: the reference's tables, looked up 16 samples at a time. */
export class WasmColor extends Color {
  readonly backend = 'wasm';
  private readonly kernels: WasmKernels;
  /** The three 256-byte tables (Y, U, V) in the kernels' memory. */
  private tables: number;
  private uploaded = false;
  private closed = false;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.kernels = options.kernels;
    this.tables = this.kernels.heap.allocate(3 * 256);
  }

  override configure(params: ColorParams): void {
    super.configure(params);
    this.uploaded = false;
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (this.lumaIdentity && this.uIdentity && this.vIdentity) return;
    const kernels = this.kernels;
    if (!this.uploaded) {
      kernels.upload(this.tables, this.lumaTable);
      kernels.upload(this.tables + 256, this.uTable);
      kernels.upload(this.tables + 512, this.vTable);
      this.uploaded = true;
    }
    const planes = kernels.enter(frame);
    if (!this.lumaIdentity) kernels.exports.mapPlane(planes.y, planes.y, frame.y.length, this.tables);
    if (!this.uIdentity) kernels.exports.mapPlane(planes.u, planes.u, frame.u.length, this.tables + 256);
    if (!this.vIdentity) kernels.exports.mapPlane(planes.v, planes.v, frame.v.length, this.tables + 512);
    kernels.leave(frame);
  }

  override close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kernels.heap.release(this.tables);
  }
}
