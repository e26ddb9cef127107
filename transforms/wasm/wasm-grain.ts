import type { Frame, FrameClock } from '../frame.js';
import { Grain, type GrainParams } from '../grain.js';
import type { WasmKernels } from './wasm-kernels.js';

const TILE = 256;

/** Grain with the WebAssembly SIMD kernel: the reference's scaled noise as a 16-bit tile, each row stored twice so a run never wraps. */
export class WasmGrain extends Grain {
  readonly backend = 'wasm';
  private readonly kernels: WasmKernels;
  private readonly tile = new Int16Array(TILE * 2 * TILE);
  private tilePointer = 0;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.kernels = options.kernels;
  }

  override configure(params: GrainParams): void {
    super.configure(params);
    for (let row = 0; row < TILE; row++) {
      for (let column = 0; column < 2 * TILE; column++) this.tile[row * 2 * TILE + column] = this.scaled[this.noise[row * TILE + (column & (TILE - 1))]! & 0xff]!;
    }
    if (this.tilePointer === 0) this.tilePointer = this.kernels.heap.allocate(this.tile.byteLength);
    this.kernels.upload(this.tilePointer, this.tile);
  }

  override apply(frame: Frame, clock: FrameClock): void {
    if (this.amount === 0 || this.tilePointer === 0) return;
    const offset = this.tileOffset(clock.frameIndex);
    const planes = this.kernels.enter(frame);
    this.kernels.exports.addGrain(planes.y, frame.width, frame.height, this.tilePointer, offset & (TILE - 1), offset >>> 8);
    this.kernels.leave(frame);
  }

  override close(): void {
    this.kernels.heap.release(this.tilePointer);
    this.tilePointer = 0;
  }
}
