import { existsSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.js';
import { IntervalTimer } from '../core/interval-timer.js';
import type { RecordingCatalogStore, RecordingRow } from './recording-catalog.js';

export interface RetentionOptions {
  catalog: RecordingCatalogStore;
  /** `$LIVEFX_DATA_DIR/recordings`. */
  recordingsDir: string;
  /** The catalog is shared with other nodes: only recordings whose folder is in recordingsDir are this node's to delete. */
  sharedCatalog?: boolean | undefined;
  /** Recordings that ended longer ago than this are deleted; undefined: no age limit. */
  maxAgeDays?: number | undefined;
  /** The recordings folder is kept under this many bytes, oldest deleted first; undefined: no size limit. */
  maxBytes?: number | undefined;
  log: Logger;
  /** True while a recording is being written (never deleted, whatever its row says). */
  isRecording?: (recordingId: string) => boolean;
  /** Epoch ms; replaceable for tests. */
  now?: () => number;
  /** How often the policy runs after start() (default hourly). */
  intervalMs?: number;
}

export interface RetentionDeletion {
  recordingId: string;
  title: string;
  state: RecordingRow['state'];
  startedAt: string;
  bytes: number;
  reason: 'age' | 'size';
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Only finished recordings may go; one in state `recording` is being written (or waits for recovery). */
const DELETABLE = new Set<RecordingRow['state']>(['complete', 'recovered', 'imported']);

/**
 * The retention policy (off unless a limit is set): at start-up and hourly, deletes finished
 * recordings older than maxAgeDays, then the oldest ones until the recordings folder fits maxBytes.
 * Each deletion is logged; a recording in progress is never touched.
 */
export class RecordingRetention {
  private readonly interval = new IntervalTimer();
  private running: Promise<RetentionDeletion[]> | undefined;

  constructor(private readonly options: RetentionOptions) {}

  get enabled(): boolean {
    return this.options.maxAgeDays !== undefined || this.options.maxBytes !== undefined;
  }

  /** Runs once now, then every intervalMs; does nothing when no limit is set. */
  async start(): Promise<RetentionDeletion[]> {
    if (!this.enabled || this.interval.started || this.interval.closed) return [];
    const deleted = await this.run();
    this.interval.start(() => void this.run(), this.options.intervalMs ?? HOUR_MS);
    return deleted;
  }

  /** Applies the policy once; resolves to what it deleted, oldest first. Concurrent calls share one run. */
  run(): Promise<RetentionDeletion[]> {
    this.running ??= this.apply()
      .catch((error: unknown) => {
        this.options.log.error({ err: error }, 'retention policy failed');
        return [];
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async apply(): Promise<RetentionDeletion[]> {
    if (!this.enabled || this.interval.closed) return [];
    const { catalog, maxAgeDays, maxBytes } = this.options;
    const now = (this.options.now ?? Date.now)();
    // Oldest first: list() is newest first.
    const recordings = (await catalog.list()).reverse().filter((recording) => !this.options.sharedCatalog || existsSync(path.join(this.options.recordingsDir, recording.id)));
    // Every folder is measured only for a size limit; an age limit alone measures just what it deletes.
    const sizes = new Map<string, number>();
    if (maxBytes !== undefined) for (const recording of recordings) sizes.set(recording.id, await folderBytes(path.join(this.options.recordingsDir, recording.id)));
    let total = [...sizes.values()].reduce((sum, bytes) => sum + bytes, 0);
    const deletable = (recording: RecordingRow): boolean => DELETABLE.has(recording.state) && !this.options.isRecording?.(recording.id);
    const deleted: RetentionDeletion[] = [];
    for (const recording of recordings) {
      if (!deletable(recording)) continue;
      const endedMs = Date.parse(recording.endedAt ?? recording.startedAt);
      let reason: RetentionDeletion['reason'] | undefined;
      if (maxAgeDays !== undefined && now - endedMs > maxAgeDays * DAY_MS) reason = 'age';
      else if (maxBytes !== undefined && total > maxBytes) reason = 'size';
      if (!reason) continue;
      const bytes = sizes.get(recording.id) ?? (await folderBytes(path.join(this.options.recordingsDir, recording.id)));
      await catalog.delete(recording.id);
      await rm(path.join(this.options.recordingsDir, recording.id), { recursive: true, force: true });
      total -= bytes;
      const deletion: RetentionDeletion = { recordingId: recording.id, title: recording.title, state: recording.state, startedAt: recording.startedAt, bytes, reason };
      deleted.push(deletion);
      this.options.log.info(
        { ...deletion, ...(reason === 'age' ? { maxAgeDays } : { maxBytes, totalBytesAfter: total }) },
        reason === 'age' ? `recording deleted by retention: older than ${maxAgeDays} days` : 'recording deleted by retention: recordings exceed the size limit',
      );
    }
    return deleted;
  }

  /** Stops the hourly runs. Idempotent. */
  close(): void {
    this.interval.close();
  }
}

/** Bytes of every file under a folder, each inode once (an import's transformed.mp4 is a hard link). */
async function folderBytes(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(full, seen);
    else if (entry.isFile()) {
      const info = await lstat(full).catch(() => undefined);
      if (!info) continue;
      const key = `${info.dev}:${info.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      total += info.size;
    }
  }
  return total;
}
