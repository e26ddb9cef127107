import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { I420Frame, i420ByteLength, type Frame } from '../frame.js';
import { WasmHeap } from './wasm-heap.js';

/** 512 MiB: a pipeline's frames and tables; the memory is shared, so this is reserved, not committed. */
const MAXIMUM_PAGES = 8192;

/** The kernels' exports (transforms/wasm/assembly/kernels.ts); every pointer is a byte offset into the memory. */
interface KernelExports {
  heapBase(): number;
  mapPlane(source: number, target: number, length: number, table: number): void;
  lut3d(y: number, u: number, v: number, width: number, height: number, luma4: number, chroma4: number, weights: number): void;
  interleaveLut3d(lumaTable: number, chromaTable: number, luma4: number, chroma4: number): void;
  lut3dWeights(weights: number): void;
  pixelatePlane(plane: number, width: number, height: number, block: number, columnSums: number): void;
  scaleAround(plane: number, gains: number, length: number, centre: number): void;
  addGrain(y: number, width: number, height: number, noise: number, offsetX: number, offsetY: number): void;
  downscalePlane(source: number, width: number, height: number, target: number): void;
  upscalePlane(source: number, width: number, height: number, target: number, scratch: number): void;
  toonLuma(plane: number, width: number, height: number, passes: number, scratchA: number, scratchB: number, ink: number, weights: number, reciprocals: number, posterized: number, inkGain: number): void;
  inkChroma(u: number, v: number, chromaWidth: number, chromaHeight: number, ink: number, inkWidth: number, step: number, saturated: number): void;
  sketchLuma(plane: number, width: number, height: number, radius: number, base: number, columnSums: number, fullRange: number, dodgeReciprocal: number, tone: number, paper: number): void;
  blendRows(target: number, targetStride: number, source: number, alpha: number, sourceStride: number, columns: number, rows: number): void;
  blurRegion(plane: number, stride: number, width: number, height: number, radius: number, passes: number, line: number, copy: number, sums: number): void;
  shrinkRegion(plane: number, stride: number, width: number, height: number, factor: number, small: number, smallWidth: number, smallHeight: number, sums: number): void;
  enlargeRegion(plane: number, stride: number, width: number, height: number, factor: number, small: number, smallWidth: number, smallHeight: number, columnSource: number, columnWeight: number, blended: number): void;
}

/** Where a frame's planes are in the memory while a kernel runs. */
export interface PlanePointers {
  y: number;
  u: number;
  v: number;
}

/** The compiled module: next to this file in dist/, or in dist/ when this file runs from the sources (tests). */
function findModuleFile(): string | undefined {
  const candidates = [new URL('./livefx-kernels.wasm', import.meta.url), new URL('../../dist/transforms/wasm/livefx-kernels.wasm', import.meta.url)];
  for (const candidate of candidates) {
    const file = fileURLToPath(candidate);
    if (existsSync(file)) return file;
  }
  return undefined;
}

let compiled: WebAssembly.Module | null | undefined;
let threadKernels: WasmKernels | undefined;

/** The module once per thread, or null where it is missing or the runtime lacks SIMD or shared memory. */
function compiledModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  const file = findModuleFile();
  const bytes = file ? readFileSync(file) : undefined;
  // validate() is the SIMD probe: the module uses v128 throughout, so a runtime without SIMD refuses it.
  compiled = bytes && typeof SharedArrayBuffer === 'function' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  return compiled;
}

/**
 * The WebAssembly SIMD kernels of one thread, with their one memory. Frames the pipeline worker
 * allocates here are views into that memory, so kernels work on them in place; a frame that lives
 * elsewhere (a test's, an offline render's) is copied into a staging frame around each kernel.
 */
export class WasmKernels {
  readonly heap: WasmHeap;
  readonly exports: KernelExports;
  private readonly memory: WebAssembly.Memory;
  /** Every ArrayBuffer view handed out was made over one of these (growing the memory makes a new one). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private staging: I420Frame | undefined;
  private staged: Frame | undefined;
  private readonly pointers: PlanePointers = { y: 0, u: 0, v: 0 };

  /** Whether this runtime can run the kernels (WebAssembly SIMD, shared memory, the compiled module present). */
  static supported(): boolean {
    return compiledModule() !== null;
  }

  /** The kernels of the calling thread: one memory per pipeline worker, shared by its frames and transforms. */
  static forThisThread(): WasmKernels {
    threadKernels ??= new WasmKernels();
    return threadKernels;
  }

  private constructor() {
    const module = compiledModule();
    if (!module) throw new Error('the WebAssembly kernels cannot run here: the runtime lacks WebAssembly SIMD or shared memory, or dist/transforms/wasm/livefx-kernels.wasm is missing (npm run build)');
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: MAXIMUM_PAGES, shared: true });
    this.exports = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.heap = new WasmHeap({ memory: this.memory, base: this.exports.heapBase(), maximumPages: MAXIMUM_PAGES });
  }

  /** A byte view of `length` bytes at `pointer`. */
  bytes(pointer: number, length: number): Uint8Array {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return new Uint8Array(buffer, pointer, length);
  }

  /** Copies `source` to `pointer` (tables at configure time, never frames). */
  upload(pointer: number, source: ArrayBufferView): void {
    this.bytes(pointer, source.byteLength).set(new Uint8Array(source.buffer, source.byteOffset, source.byteLength));
  }

  /** Whether a view lies in this memory, so a kernel can work on it in place. */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  /** A frame whose buffer lies in this memory: what the decoder writes into and the encoder reads from. */
  allocateFrame(width: number, height: number): I420Frame {
    const length = i420ByteLength(width, height);
    const pointer = this.heap.allocate(length);
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return new I420Frame(width, height, Buffer.from(buffer, pointer, length));
  }

  /** Gives an allocated frame's memory back (the frame must not be used after). */
  releaseFrame(frame: I420Frame): void {
    if (this.owns(frame.buffer)) this.heap.release(frame.buffer.byteOffset);
  }

  /** The frame's planes in this memory; a frame from elsewhere is copied into the staging frame until leave(). */
  enter(frame: Frame): PlanePointers {
    const pointers = this.pointers;
    if (this.owns(frame.y) && this.owns(frame.u) && this.owns(frame.v)) {
      pointers.y = frame.y.byteOffset;
      pointers.u = frame.u.byteOffset;
      pointers.v = frame.v.byteOffset;
      return pointers;
    }
    let staging = this.staging;
    if (!staging || staging.width !== frame.width || staging.height !== frame.height) {
      if (staging) this.releaseFrame(staging);
      staging = this.allocateFrame(frame.width, frame.height);
      this.staging = staging;
    }
    staging.y.set(frame.y);
    staging.u.set(frame.u);
    staging.v.set(frame.v);
    this.staged = frame;
    pointers.y = staging.y.byteOffset;
    pointers.u = staging.u.byteOffset;
    pointers.v = staging.v.byteOffset;
    return pointers;
  }

  /** After a kernel: copies a staged frame's planes back. */
  leave(frame: Frame): void {
    if (this.staged !== frame) return;
    this.staged = undefined;
    const staging = this.staging!;
    frame.y.set(staging.y);
    frame.u.set(staging.u);
    frame.v.set(staging.v);
  }
}
