import type { Frame, FrameClock } from './frame.js';
import type { ChainStats } from './chain-stats.js';
import type { Transform } from './transform.js';

export type { ChainStats, TransformTiming } from './chain-stats.js';

export interface ChainEntry {
  readonly transform: Transform<unknown>;
  enabled: boolean;
}

const SMOOTHING = 0.1;
/** Share of the frame interval the chain may use before it degrades; decode and encode need the rest. */
const DEGRADE_ABOVE = 0.6;
const RECOVER_BELOW = 0.35;

/**
 * An ordered list of individually enabled transforms. A new list is swapped in atomically at the
 * next frame boundary; timings are kept per transform, and when the chain would miss the frame
 * interval, heavy transforms run every other frame until the cost falls again.
 */
export class Chain {
  private entries: ChainEntry[] = [];
  private pending: ChainEntry[] | undefined;
  private averages = new Float64Array(0);
  private skipped = new Float64Array(0);
  private chainAverageMs = 0;
  private overDeadline = 0;
  private degraded = false;
  private closed = false;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Replaces the whole chain at the next frame boundary; the replaced transforms are closed then. */
  replace(entries: ChainEntry[]): void {
    if (this.closed) throw new Error('chain is closed');
    this.pending = entries;
  }

  get size(): number {
    return (this.pending ?? this.entries).length;
  }

  /** Offline renders call this before apply(): every enabled transform that can wait for its inputs does. */
  async prepare(frame: Frame, clock: FrameClock): Promise<void> {
    if (this.pending) this.swapPending();
    for (const entry of this.entries) if (entry.enabled && entry.transform.prepare) await entry.transform.prepare(frame, clock);
  }

  apply(frame: Frame, clock: FrameClock): void {
    if (this.pending) this.swapPending();
    const chainStart = this.now();
    const skipHeavy = this.degraded && (clock.frameIndex & 1) === 1;
    for (let index = 0; index < this.entries.length; index++) {
      const entry = this.entries[index]!;
      if (!entry.enabled) continue;
      if (skipHeavy && entry.transform.heavy) {
        this.skipped[index]! += 1;
        continue;
      }
      const start = this.now();
      entry.transform.apply(frame, clock);
      const elapsed = this.now() - start;
      this.averages[index] = this.averages[index]! + SMOOTHING * (elapsed - this.averages[index]!);
    }
    const chainMs = this.now() - chainStart;
    this.chainAverageMs += SMOOTHING * (chainMs - this.chainAverageMs);
    if (chainMs > clock.frameIntervalMs) this.overDeadline++;
    const budget = clock.frameIntervalMs;
    if (!this.degraded && this.chainAverageMs > budget * DEGRADE_ABOVE) this.degraded = this.hasHeavyTransform();
    else if (this.degraded && this.chainAverageMs < budget * RECOVER_BELOW) this.degraded = false;
  }

  stats(): ChainStats {
    return {
      averageMs: this.chainAverageMs,
      framesOverDeadline: this.overDeadline,
      degraded: this.degraded,
      transforms: this.entries.map((entry, index) => ({
        name: entry.transform.name,
        enabled: entry.enabled,
        averageMs: this.averages[index]!,
        skippedFrames: this.skipped[index]!,
      })),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.entries) entry.transform.close();
    for (const entry of this.pending ?? []) entry.transform.close();
    this.entries = [];
    this.pending = undefined;
  }

  private swapPending(): void {
    const next = this.pending!;
    this.pending = undefined;
    for (const entry of this.entries) if (!next.includes(entry)) entry.transform.close();
    this.entries = next;
    this.averages = new Float64Array(next.length);
    this.skipped = new Float64Array(next.length);
  }

  private hasHeavyTransform(): boolean {
    return this.entries.some((entry) => entry.enabled && entry.transform.heavy);
  }
}
