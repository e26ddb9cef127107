import type { WasmKernels } from './wasm-kernels.js';

/**
 * A WebAssembly transform's blocks in the kernels' memory: its tables (uploaded again after each
 * configure) and its working buffers, laid out in one block from the frame size and allocated
 * again only when that size changes.
 */
export class WasmScratch {
  readonly kernels: WasmKernels;
  /** The tables' block (0 where the transform has none). */
  readonly tables: number;
  /** Where each buffer part starts, as the last fit() laid them out. */
  readonly parts: number[] = [];
  private tablesStale = true;
  private buffers = 0;
  private width = 0;
  private height = 0;
  private closed = false;

  private readonly tableParts: (() => readonly (readonly [offset: number, table: ArrayBufferView])[]) | undefined;
  private readonly bufferBytes: ((width: number, height: number) => readonly number[]) | undefined;

  /** `tables`: each table and its byte offset in the tables' block; `bufferBytes`: each buffer part's bytes for a frame size. */
  constructor(options: {
    kernels: WasmKernels;
    tableBytes: number;
    tables?: () => readonly (readonly [offset: number, table: ArrayBufferView])[];
    bufferBytes?: (width: number, height: number) => readonly number[];
  }) {
    this.kernels = options.kernels;
    this.tables = options.tableBytes > 0 ? this.kernels.heap.allocate(options.tableBytes) : 0;
    this.tableParts = options.tables;
    this.bufferBytes = options.bufferBytes;
  }

  /** Before a frame: uploads the tables if they changed and fits the buffers to its size; returns where the buffer parts start. */
  prepare(width: number, height: number): readonly number[] {
    if (this.tableParts && this.takeStaleTables()) {
      for (const [offset, table] of this.tableParts()) this.upload(offset, table);
    }
    if (this.bufferBytes) this.fit(width, height, this.bufferBytes);
    return this.parts;
  }

  /** The tables changed (a configure): they are uploaded again before the next frame. */
  invalidateTables(): void {
    this.tablesStale = true;
  }

  /** Whether the tables need uploading now; the caller uploads them, so they count as uploaded after. */
  takeStaleTables(): boolean {
    const stale = this.tablesStale;
    this.tablesStale = false;
    return stale;
  }

  /** Copies `source` to the tables' block at byte `offset`. */
  upload(offset: number, source: ArrayBufferView): void {
    this.kernels.upload(this.tables + offset, source);
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
    this.kernels.heap.release(this.tables);
    this.kernels.heap.release(this.buffers);
    this.buffers = 0;
    this.width = 0;
    this.height = 0;
  }
}
