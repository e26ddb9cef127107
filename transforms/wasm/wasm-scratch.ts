import type { WasmKernels } from './wasm-kernels.js';

/**
 * A WebAssembly transform's blocks in the kernels' memory: its tables, one block laid out once and
 * uploaded again after each configure, and its working buffers, one block laid out from the frame
 * size and allocated again only when that size changes.
 */
export class WasmScratch {
  readonly kernels: WasmKernels;
  /** Where each table starts, in the order given. */
  readonly tableOffsets: number[] = [];
  /** Where each buffer part starts, as the last fit() laid them out. */
  readonly parts: number[] = [];
  private readonly tables: readonly ArrayBufferView[];
  private readonly bufferBytes: ((width: number, height: number) => readonly number[]) | undefined;
  private tablesBlock = 0;
  private tablesStale = true;
  private buffers = 0;
  private width = 0;
  private height = 0;
  private closed = false;

  /** `tables`: the transform's lookup tables (fixed in size); `bufferBytes`: each buffer part's bytes for a frame size. */
  constructor(options: { kernels: WasmKernels; tables?: readonly ArrayBufferView[]; bufferBytes?: (width: number, height: number) => readonly number[] }) {
    this.kernels = options.kernels;
    this.tables = options.tables ?? [];
    this.bufferBytes = options.bufferBytes;
    if (this.tables.length > 0) this.tablesBlock = this.kernels.heap.allocateParts(this.tables.map((table) => table.byteLength), this.tableOffsets);
  }

  /** The tables changed (a configure): they are uploaded again before the next frame. */
  invalidateTables(): void {
    this.tablesStale = true;
  }

  /** Before a frame: uploads the tables if they changed and fits the buffers to its size; returns where the buffer parts start. */
  prepare(width: number, height: number): readonly number[] {
    if (this.tablesStale) {
      this.tables.forEach((table, index) => this.kernels.upload(this.tableOffsets[index]!, table));
      this.tablesStale = false;
    }
    if (this.bufferBytes) this.fit(width, height, this.bufferBytes);
    return this.parts;
  }

  /** Lays the buffers out for a frame size (`sizes` gives each part's bytes); true when it did, false when the size is unchanged. */
  fit(width: number, height: number, sizes: (width: number, height: number) => readonly number[]): boolean {
    if (width === this.width && height === this.height) return false;
    const heap = this.kernels.heap;
    heap.release(this.buffers);
    this.buffers = heap.allocateParts(sizes(width, height), this.parts);
    this.width = width;
    this.height = height;
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kernels.heap.release(this.tablesBlock);
    this.kernels.heap.release(this.buffers);
    this.buffers = 0;
    this.width = 0;
    this.height = 0;
  }
}
