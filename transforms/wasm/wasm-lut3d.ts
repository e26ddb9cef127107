import type { CubeLut } from '../cube-file.js';
import type { Frame, FrameClock } from '../frame.js';
import { Lut3d, type BuiltTables, type Lut3dParams } from '../lut3d.js';
import type { WasmKernels } from './wasm-kernels.js';

/** Cells with a right and a lower neighbour (64 × 64), 256 input Y each. */
const INTERLEAVED_ENTRIES = 64 * 64 * 256;
/** The bilinear weight vectors: 16 of i16, 16 of i32. */
const WEIGHT_BYTES = 2 * 16 * 16;

/**
 * Lut3d with the WebAssembly kernel: the reference's YUV tables, re-laid at configure time so each
 * pixel's four neighbour cells sit side by side (transforms/wasm/assembly/kernels.ts, interleaveLut3d).
 */
export class WasmLut3d extends Lut3d {
  readonly backend = 'wasm';
  private readonly kernels: WasmKernels;
  private luma4 = 0;
  private chroma4 = 0;
  private weights = 0;

  constructor(options: { kernels: WasmKernels; resolveFile?: (name: string) => string }) {
    super(options.resolveFile);
    this.kernels = options.kernels;
  }

  override useLut(lut: CubeLut, interp: Lut3dParams['interp'] = 'tetrahedral', strength = 1, built?: BuiltTables): void {
    super.useLut(lut, interp, strength, built);
    const { heap, exports } = this.kernels;
    if (this.luma4 === 0) {
      this.luma4 = heap.allocate(4 * INTERLEAVED_ENTRIES);
      this.chroma4 = heap.allocate(16 * INTERLEAVED_ENTRIES);
      this.weights = heap.allocate(WEIGHT_BYTES);
      exports.lut3dWeights(this.weights);
    }
    // The reference's tables pass through the memory once, to be re-laid there.
    const luma = heap.allocate(this.lumaTable.byteLength);
    const chroma = heap.allocate(this.chromaTable.byteLength);
    try {
      this.kernels.upload(luma, this.lumaTable);
      this.kernels.upload(chroma, this.chromaTable);
      exports.interleaveLut3d(luma, chroma, this.luma4, this.chroma4);
    } finally {
      heap.release(chroma);
      heap.release(luma);
    }
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (!this.lut || this.strength === 0) return;
    const planes = this.kernels.enter(frame);
    this.kernels.exports.lut3d(planes.y, planes.u, planes.v, frame.width, frame.height, this.luma4, this.chroma4, this.weights);
    this.kernels.leave(frame);
  }

  override close(): void {
    super.close();
    const heap = this.kernels.heap;
    heap.release(this.luma4);
    heap.release(this.chroma4);
    heap.release(this.weights);
    this.luma4 = 0;
    this.chroma4 = 0;
    this.weights = 0;
  }
}
