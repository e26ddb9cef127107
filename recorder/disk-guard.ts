import { statfs } from 'node:fs/promises';
import type { Logger } from '../core/logger.js';
import { IntervalTimer } from '../core/interval-timer.js';
import { TypedEmitter } from '../core/typed-emitter.js';

export interface DiskSpace {
  /** Bytes an unprivileged process may still write. */
  freeBytes: number;
}

export type StatfsFunction = (dir: string) => Promise<DiskSpace>;

export interface DiskGuardOptions {
  /** The recordings folder (created before the first check). */
  dir: string;
  minFreeBytes: number;
  /** How often free space is checked (ms). */
  intervalMs: number;
  log: Logger;
  /** Replaceable for tests; defaults to fs.statfs (bavail × bsize). */
  statfs?: StatfsFunction;
}

export const realStatfs: StatfsFunction = async (dir) => {
  const stats = await statfs(dir);
  return { freeBytes: Number(stats.bavail) * Number(stats.bsize) };
};

/**
 * Watches the free space of the recordings folder every few seconds. Crossing below the floor calls
 * `low` once (recording stops); crossing back above it emits `ok` (new
 * sessions are recorded again). A failing statfs is logged and changes nothing.
 */
export type DiskGuardEvents = {
  /** Free space fell below the floor (recording stops). */
  low: [space: DiskSpace, minFreeBytes: number];
  /** Free space is above the floor again (new sessions are recorded). */
  ok: [space: DiskSpace, minFreeBytes: number];
};

export class DiskGuard extends TypedEmitter<DiskGuardEvents> {
  private readonly statfs: StatfsFunction;
  private readonly interval = new IntervalTimer();
  private isLow = false;
  private lastSpace: DiskSpace | undefined;
  private checking: Promise<boolean> | undefined;

  constructor(private readonly options: DiskGuardOptions) {
    super();
    this.listenerError = (event, error) => options.log.error({ err: error, event }, 'disk guard listener failed');
    this.statfs = options.statfs ?? realStatfs;
  }

  get low(): boolean {
    return this.isLow;
  }

  get minFreeBytes(): number {
    return this.options.minFreeBytes;
  }

  /** The last measurement, undefined before the first. */
  get space(): DiskSpace | undefined {
    return this.lastSpace;
  }

  /** Changes the floor (tests, or an operator raising it); takes effect at the next check. */
  setMinFreeBytes(bytes: number): void {
    this.options.minFreeBytes = bytes;
  }

  /** Checks once now, then every intervalMs. */
  async start(): Promise<void> {
    if (this.interval.started || this.interval.closed) return;
    await this.check();
    this.interval.start(() => void this.check(), this.options.intervalMs);
  }

  /** Measures now; resolves to true while the free space is below the floor. Concurrent calls share one statfs. */
  check(): Promise<boolean> {
    this.checking ??= this.measure().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async measure(): Promise<boolean> {
    let space: DiskSpace;
    try {
      space = await this.statfs(this.options.dir);
    } catch (error) {
      this.options.log.warn({ err: error, dir: this.options.dir }, 'free disk space could not be measured');
      return this.isLow;
    }
    if (this.interval.closed) return this.isLow;
    this.lastSpace = space;
    const low = space.freeBytes < this.options.minFreeBytes;
    if (low === this.isLow) return low;
    this.isLow = low;
    const fields = { dir: this.options.dir, freeMb: Math.floor(space.freeBytes / 2 ** 20), minFreeMb: Math.floor(this.options.minFreeBytes / 2 ** 20) };
    if (low) this.options.log.warn(fields, 'disk space below the recording floor: recording stops');
    else this.options.log.info(fields, 'disk space above the recording floor again: new sessions are recorded');
    this.safeEmit(low ? 'low' : 'ok', space, this.options.minFreeBytes);
    return low;
  }

  /** Stops checking. Idempotent. */
  close(): void {
    this.interval.close();
  }
}
