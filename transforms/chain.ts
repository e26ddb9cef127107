import type { Frame, FrameClock } from './frame.js';
import type { ChainStats } from './chain-stats.js';
import type { Transform, TransformBatch } from './transform.js';

export type { ChainStats, TransformTiming } from './chain-stats.js';

export interface ChainEntry {
  readonly transform: Transform<unknown>;
  enabled: boolean;
}

const SMOOTHING = 0.1;
/** Share of the frame interval the chain may use before it degrades; decode and encode need the rest. */
const DEGRADE_ABOVE = 0.6;
const RECOVER_BELOW = 0.35;
/** Back to full resolution only when the chain, predicted at full resolution, stays under this share. */
const FULL_RESOLUTION_BELOW = 0.5;
/**
 * A quarter of the samples: at most 4× cheaper. Until a transform's own ratio is measured (its
 * full-resolution average before the switch over its half-resolution one after), 4 is assumed.
 */
const HALF_RESOLUTION_SAVING = 4;
/** Frames the averages get to follow one change of degradation before the next (0.5 s at 30 fps). */
const SETTLE_FRAMES = 15;
/** Frames heavy transforms stay off before they are tried again every other frame (10 s at 30 fps): the load may have passed. */
const HEAVY_OFF_FRAMES = 300;

/**
 * An ordered list of individually enabled transforms. A new list is swapped in atomically at the
 * next frame boundary; timings are kept per transform. When the chain would miss the frame interval
 * it degrades in steps: first transforms that can work at half resolution do, then heavy transforms
 * run every other frame, then not at all (tried again every HEAVY_OFF_FRAMES); each step is undone
 * when the cost falls again.
 */
export class Chain {
  private entries: ChainEntry[] = [];
  private pending: ChainEntry[] | undefined;
  private averages = new Float64Array(0);
  private skipped = new Float64Array(0);
  /** Whether each transform has been timed since the swap: its first time seeds the average. */
  private timed = new Uint8Array(0);
  /** Per transform: its average at full resolution when the chain asked for half, and the measured full/half cost ratio (0 until known). */
  private fullResolutionMs = new Float64Array(0);
  private halfResolutionSaving = new Float64Array(0);
  private chainAverageMs = 0;
  private overDeadline = 0;
  private degraded = false;
  /** The last step: heavy transforms skipped on every frame; counts down to the next try. */
  private heavyOffLeft = 0;
  private halfResolution = false;
  private settling = 0;
  private closed = false;

  /**
   * `adaptive: false` is for offline renders, where every frame must be exact: timings are still
   * kept, but the chain never degrades.
   */
  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly options: { adaptive: boolean } = { adaptive: true },
  ) {}

  /** Replaces the whole chain at the next frame boundary; the replaced transforms are closed then. */
  replace(entries: ChainEntry[]): void {
    if (this.closed) throw new Error('chain is closed');
    // A change that never reached a frame is closed here: its transforms may hold WebAssembly memory, which no GC frees.
    const replaced = this.pending;
    this.pending = entries;
    if (!replaced) return;
    const kept = new Set([...entries, ...this.entries].map((entry) => entry.transform));
    for (const entry of replaced) if (!kept.has(entry.transform)) entry.transform.close();
  }

  /** Whether the running transform of that name is heavy (skipped first under load). */
  isHeavy(name: string): boolean {
    return this.entries.some((entry) => entry.transform.name === name && entry.transform.heavy);
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
    const skipHeavy = this.heavyOffLeft > 0 || (this.degraded && (clock.frameIndex & 1) === 1);
    let openBatch: TransformBatch | undefined;
    let batchIndex = -1;
    let batchSeeded = false;
    for (let index = 0; index < this.entries.length; index++) {
      const entry = this.entries[index]!;
      if (!entry.enabled) continue;
      if (skipHeavy && entry.transform.heavy) {
        this.skipped[index]! += 1;
        continue;
      }
      const batch = entry.transform.batch;
      if (openBatch && batch !== openBatch) this.flushBatch(openBatch, batchIndex, batchSeeded);
      openBatch = batch;
      batchIndex = index;
      batchSeeded = !this.timed[index];
      const start = this.now();
      entry.transform.apply(frame, clock);
      const elapsed = this.now() - start;
      this.averages[index] = this.timed[index] ? this.averages[index]! + SMOOTHING * (elapsed - this.averages[index]!) : elapsed;
      this.timed[index] = 1;
    }
    if (openBatch) this.flushBatch(openBatch, batchIndex, batchSeeded);
    const chainMs = this.now() - chainStart;
    this.chainAverageMs += SMOOTHING * (chainMs - this.chainAverageMs);
    if (chainMs > clock.frameIntervalMs) this.overDeadline++;
    if (this.options.adaptive) this.adapt(clock.frameIntervalMs);
  }

  stats(): ChainStats {
    return {
      averageMs: this.chainAverageMs,
      framesOverDeadline: this.overDeadline,
      degraded: this.degraded,
      halfResolution: this.halfResolution,
      heavyOff: this.heavyOffLeft > 0,
      transforms: this.entries.map((entry, index) => ({
        name: entry.transform.name,
        enabled: entry.enabled,
        averageMs: this.averages[index]!,
        skippedFrames: this.skipped[index]!,
        halfResolution: entry.transform.resolution?.active ?? false,
        backend: entry.transform.backend ?? 'js',
        ...noteOf(entry),
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

  /**
   * Runs a batch's queued kernels (a run of GPU transforms: one upload, one readback). Its time goes
   * to the run's last transform, whose average then follows apply + flush (`seeded`: this frame's
   * apply was its first timing, which the flush joins whole).
   */
  private flushBatch(batch: TransformBatch, lastIndex: number, seeded: boolean): void {
    const start = this.now();
    batch.flush();
    this.averages[lastIndex]! += (seeded ? 1 : SMOOTHING) * (this.now() - start);
  }

  private swapPending(): void {
    const next = this.pending!;
    this.pending = undefined;
    for (const entry of this.entries) if (!next.includes(entry)) entry.transform.close();
    this.entries = next;
    this.averages = new Float64Array(next.length);
    this.skipped = new Float64Array(next.length);
    this.timed = new Uint8Array(next.length);
    this.fullResolutionMs = new Float64Array(next.length);
    this.halfResolutionSaving = new Float64Array(next.length);
    // New transforms start where the chain stands, so a parameter change does not flash full
    // resolution, and the policy waits until their averages mean something.
    if (this.halfResolution) this.halfResolution = this.requestHalfResolution(true);
    this.settling = SETTLE_FRAMES;
  }

  /** One step of the degradation policy per frame, with time for the averages to follow each step. */
  private adapt(budget: number): void {
    if (this.settling > 0) {
      this.settling--;
      return;
    }
    if (this.heavyOffLeft > 0) {
      // Without its heavy transforms the chain's average says nothing about them: wait, then try every other frame again.
      if (--this.heavyOffLeft > 0) return;
      this.settling = SETTLE_FRAMES;
      return;
    }
    if (this.halfResolution) this.learnHalfResolutionSaving();
    const average = this.chainAverageMs;
    if (average > budget * DEGRADE_ABOVE) {
      if (!this.halfResolution && this.requestHalfResolution(true)) this.halfResolution = true;
      else if (!this.degraded && this.hasHeavyTransform()) this.degraded = true;
      else if (this.degraded && this.hasHeavyTransform()) this.heavyOffLeft = HEAVY_OFF_FRAMES;
      else return;
    } else if (this.degraded && average < budget * RECOVER_BELOW) {
      this.degraded = false;
    } else if (this.halfResolution && !this.degraded && this.predictedFullResolutionMs() < budget * FULL_RESOLUTION_BELOW) {
      this.halfResolution = false;
      this.requestHalfResolution(false);
    } else {
      return;
    }
    this.settling = SETTLE_FRAMES;
  }

  /** Asks every transform whose resolution the operator left to the chain; false when there is none. */
  private requestHalfResolution(half: boolean): boolean {
    let asked = false;
    for (let index = 0; index < this.entries.length; index++) {
      const entry = this.entries[index]!;
      const control = entry.transform.resolution;
      if (!control?.adaptive) continue;
      const wanted = half && entry.enabled;
      if (wanted && !control.active) {
        // Remember the full-resolution cost, and time the half-resolution one afresh.
        this.fullResolutionMs[index] = this.timed[index] ? this.averages[index]! : 0;
        this.halfResolutionSaving[index] = 0;
        this.timed[index] = 0;
      }
      control.request(wanted);
      asked ||= wanted;
    }
    return asked;
  }

  /** Once settled at half resolution, each transform's full/half cost ratio (1…4). */
  private learnHalfResolutionSaving(): void {
    for (let index = 0; index < this.entries.length; index++) {
      const half = this.averages[index]!;
      if (this.halfResolutionSaving[index] !== 0 || this.fullResolutionMs[index] === 0 || !this.timed[index] || half <= 0) continue;
      this.halfResolutionSaving[index] = Math.min(HALF_RESOLUTION_SAVING, Math.max(1, this.fullResolutionMs[index]! / half));
    }
  }

  /** The chain's average if the transforms the chain put at half resolution went back to full. */
  private predictedFullResolutionMs(): number {
    let predicted = this.chainAverageMs;
    for (let index = 0; index < this.entries.length; index++) {
      const entry = this.entries[index]!;
      const control = entry.transform.resolution;
      if (!entry.enabled || !control?.adaptive || !control.active) continue;
      const saving = this.halfResolutionSaving[index] || HALF_RESOLUTION_SAVING;
      predicted += (saving - 1) * this.averages[index]!;
    }
    return predicted;
  }

  private hasHeavyTransform(): boolean {
    return this.entries.some((entry) => entry.enabled && entry.transform.heavy);
  }
}

/** What an enabled transform says an operator must know now, as a stats field. */
function noteOf(entry: ChainEntry): { note?: string } {
  const note = entry.enabled ? entry.transform.operatorNote?.() : undefined;
  return note ? { note } : {};
}
