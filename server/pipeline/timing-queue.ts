/** A decode timing record this old was never answered: the decoder dropped that frame (real decodes take a few ms). */
export const DECODE_LEAK_MS = 1500;

export interface PendingFrame {
  rtpTimestamp: number;
  captureMs: number;
  submittedMs: number;
}

/** A fixed-capacity FIFO of frame timing records, reused without allocation. */
export class TimingQueue {
  private readonly items: PendingFrame[];
  private head = 0;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.items = Array.from({ length: capacity }, () => ({ rtpTimestamp: 0, captureMs: 0, submittedMs: 0 }));
  }

  get length(): number {
    return this.count;
  }

  push(rtpTimestamp: number, captureMs: number, submittedMs: number): boolean {
    if (this.count === this.capacity) return false;
    const item = this.items[(this.head + this.count) % this.capacity]!;
    item.rtpTimestamp = rtpTimestamp;
    item.captureMs = captureMs;
    item.submittedMs = submittedMs;
    this.count++;
    return true;
  }

  /**
   * Takes out the oldest records submitted more than `maxAgeMs` before `nowMs` (keeping the newest one)
   * and says how many: frames the process never answered for. Without this, every unanswered frame
   * would shift the timing of all later ones, and a full queue would refuse every frame from then on.
   */
  dropUnanswered(nowMs: number, maxAgeMs: number): number {
    let dropped = 0;
    while (this.count > 1 && nowMs - this.items[this.head]!.submittedMs > maxAgeMs) {
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      dropped++;
    }
    return dropped;
  }

  /** The oldest record; valid until the next push. */
  shift(): PendingFrame | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head]!;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}
