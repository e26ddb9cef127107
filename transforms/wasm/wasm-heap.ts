/** Allocations are 64-byte aligned: a cache line, and every v128 load of a row start is aligned. */
const ALIGN = 64;
const PAGE = 65536;

interface FreeBlock {
  start: number;
  size: number;
}

/**
 * The allocator of one WebAssembly.Memory, kept on the JavaScript side (the kernels never
 * allocate): first fit over a sorted free list, neighbours merged on release, the memory grown
 * when nothing fits. The memory is shared, so growing never detaches a view handed out before.
 */
export class WasmHeap {
  private readonly memory: WebAssembly.Memory;
  private readonly maximumBytes: number;
  private readonly free: FreeBlock[] = [];
  private readonly sizes = new Map<number, number>();
  /** Everything at or above this offset is unused. */
  private top: number;

  constructor(options: { memory: WebAssembly.Memory; base: number; maximumPages: number }) {
    this.memory = options.memory;
    this.maximumBytes = options.maximumPages * PAGE;
    this.top = alignUp(Math.max(ALIGN, options.base));
  }

  /** Bytes in use, for tests and stats. */
  get usedBytes(): number {
    let used = 0;
    for (const size of this.sizes.values()) used += size;
    return used;
  }

  /** A block of at least `bytes` bytes (its contents are left as they are); throws when the memory's maximum is reached. */
  allocate(bytes: number): number {
    const size = alignUp(Math.max(1, bytes));
    for (let index = 0; index < this.free.length; index++) {
      const block = this.free[index]!;
      if (block.size < size) continue;
      const start = block.start;
      if (block.size === size) this.free.splice(index, 1);
      else {
        block.start += size;
        block.size -= size;
      }
      this.sizes.set(start, size);
      return start;
    }
    const start = this.top;
    const end = start + size;
    if (end > this.maximumBytes) throw new RangeError(`the transforms' WebAssembly memory is full (${this.maximumBytes / 1048576} MiB): ${bytes} bytes more do not fit`);
    const missing = end - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / PAGE));
    this.top = end;
    this.sizes.set(start, size);
    return start;
  }

  /**
   * One block holding parts of the given sizes, each 64-byte aligned; `offsets` receives where
   * each part starts. Returns the block, for release(). For buffers that change with the frame size.
   */
  allocateParts(sizes: readonly number[], offsets: number[]): number {
    let total = 0;
    for (const size of sizes) total += alignUp(size);
    const block = this.allocate(total);
    let at = block;
    sizes.forEach((size, index) => {
      offsets[index] = at;
      at += alignUp(size);
    });
    return block;
  }

  /** Gives a block back; releasing one twice, or one never allocated, is ignored. */
  release(pointer: number): void {
    const size = this.sizes.get(pointer);
    if (size === undefined) return;
    this.sizes.delete(pointer);
    let index = this.free.findIndex((block) => block.start > pointer);
    if (index < 0) index = this.free.length;
    this.free.splice(index, 0, { start: pointer, size });
    // Merge with the block after, then with the one before.
    const next = this.free[index + 1];
    if (next && pointer + size === next.start) {
      this.free[index]!.size += next.size;
      this.free.splice(index + 1, 1);
    }
    const previous = this.free[index - 1];
    if (previous && previous.start + previous.size === pointer) {
      previous.size += this.free[index]!.size;
      this.free.splice(index, 1);
      index--;
    }
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }
}

function alignUp(value: number): number {
  return Math.ceil(value / ALIGN) * ALIGN;
}
