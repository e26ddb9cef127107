import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import type { RecordingCatalog, RecordingEvent } from './recording-catalog.js';

/** How often appended events go to the catalog (one transaction) and events.jsonl is fsync'd. */
const FLUSH_INTERVAL_MS = 250;

export class EventLogError extends Error {
  override readonly name = 'EventLogError';
}

/**
 * The append-only event log of one recording, on the session clock. Each event is written to
 * `events.jsonl` at once (so a kill -9 keeps it: the kernel has it) and, every 250 ms, inserted into the
 * catalog in one transaction, after which the file is fsync'd (so a power cut keeps the batch too).
 */
export class EventLog {
  static readonly FILE_NAME = 'events.jsonl';
  private readonly fd: number;
  private pending: RecordingEvent[] = [];
  private readonly timer: NodeJS.Timeout;
  private nextSeq: number;
  private isClosed = false;

  constructor(
    private readonly catalog: RecordingCatalog,
    readonly recordingId: string,
    file: string,
    /** Epoch milliseconds of session time 0. */
    private readonly originMs: number,
    private readonly onError: (error: unknown) => void = () => {},
    firstSeq = 1,
  ) {
    this.nextSeq = firstSeq;
    this.fd = openSync(file, 'a');
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Seconds on the session clock at epoch time `atMs`, to the millisecond. */
  sessionTime(atMs: number): number {
    return Math.max(0, Math.round(atMs - this.originMs) / 1000);
  }

  /** Appends one event of any type (chat, reaction, transcript-word, …); `payload` must not use the keys `t` and `type`. */
  append(type: string, payload: Record<string, unknown> = {}, atMs: number | undefined = undefined): RecordingEvent {
    if (this.isClosed) throw new EventLogError(`the event log of recording ${this.recordingId} is closed`);
    if (!type) throw new EventLogError('an event needs a type');
    if ('t' in payload || 'type' in payload) throw new EventLogError(`event "${type}": the payload must not have "t" or "type" keys (they are the event's own)`);
    const event: RecordingEvent = { seq: this.nextSeq++, t: this.sessionTime(atMs ?? performance.timeOrigin + performance.now()), type, payload };
    writeSync(this.fd, `${JSON.stringify({ seq: event.seq, t: event.t, type, payload })}\n`);
    this.pending.push(event);
    return event;
  }

  /** Inserts the pending events into the catalog and syncs the file. */
  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.catalog.insertEvents(this.recordingId, batch);
      fdatasyncSync(this.fd);
    } catch (error) {
      // The lines are in events.jsonl; recovery re-inserts what the catalog missed.
      this.onError(error);
    }
  }

  /** Flushes and closes the file. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    clearInterval(this.timer);
    this.flush();
    this.isClosed = true;
    closeSync(this.fd);
  }
}
