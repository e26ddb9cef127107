/**
 * Cuts a stream of bytes or samples, written in pieces of any size, into blocks of one fixed size,
 * gathered in one buffer reused for every block (no allocation per write or per block).
 */
export class BlockAccumulator<Block extends Uint8Array | Int16Array> {
  private fill = 0;

  /** `onBlock` gets `block` each time it is full; it must copy what it keeps. */
  constructor(
    readonly block: Block,
    private readonly onBlock: (block: Block) => void,
  ) {}

  /** How much of the next block is already written. */
  get filled(): number {
    return this.fill;
  }

  write(data: Block extends Uint8Array ? Uint8Array : Int16Array): void {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(this.block.length - this.fill, data.length - offset);
      this.block.set(data.subarray(offset, offset + take), this.fill);
      this.fill += take;
      offset += take;
      if (this.fill === this.block.length) {
        try {
          this.onBlock(this.block);
        } finally {
          // Even when the handler throws, so the next write starts a new block instead of finding no room.
          this.fill = 0;
        }
      }
    }
  }

  /** Forgets a partly written block. */
  reset(): void {
    this.fill = 0;
  }
}
