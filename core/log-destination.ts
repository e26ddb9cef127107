import { write, writeSync } from 'node:fs';

export interface LogDestinationOptions {
  /** The file descriptor log lines go to (1 = standard output). */
  fd: number;
  /** Lines held while the reader is slow; past it new lines are dropped and counted. Default 8 MiB. */
  maxPendingBytes?: number;
}

/** Write errors that mean nobody will ever read this descriptor again. */
const READER_GONE = new Set(['EPIPE', 'EBADF', 'ECONNRESET']);
const RETRY_MS = 20;

/**
 * Where pino writes: asynchronous writes one at a time, so a slow log reader never blocks the event
 * loop, and logging that can never fail the server. When the reader is gone (EPIPE: a dead `tee` or
 * log collector) lines are dropped from then on; the exit flush makes one bounded attempt instead of
 * retrying forever (pino's own destination loops on EPIPE inside process.exit, so SIGTERM never ended).
 */
export class LogDestination {
  readonly #fd: number;
  readonly #maxPendingBytes: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  /** The bytes of the write in flight, kept until the kernel took all of them, and its line count. */
  #inFlight: Buffer | undefined;
  #inFlightLines = 0;
  #dropped = 0;
  #readerGone = false;
  #closed = false;
  #drained: (() => void)[] = [];
  readonly #flushOnExit = (): void => this.flushSync();

  constructor(options: LogDestinationOptions) {
    this.#fd = options.fd;
    this.#maxPendingBytes = options.maxPendingBytes ?? 8 << 20;
    process.on('exit', this.#flushOnExit);
  }

  /** True once a write failed for good: lines are dropped from then on. */
  get readerGone(): boolean {
    return this.#readerGone;
  }

  /** Lines dropped because the reader was too slow or gone. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Called by pino with one serialized line. Never throws. */
  write(line: string): void {
    if (this.#readerGone || this.#closed) {
      this.#dropped += 1;
      return;
    }
    if (this.#pendingBytes + line.length > this.#maxPendingBytes) {
      this.#dropped += 1;
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (!this.#inFlight) this.#writeNext();
  }

  /** Resolves once every line written so far reached the descriptor (or never will), or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#drained.push(done);
    });
  }

  /** Writes what is queued now, synchronously, once: for process exit, where no callback will run. */
  flushSync(): void {
    if (this.#readerGone) return;
    // A write still in flight in the thread pool may or may not land; writing it again could duplicate it.
    const chunk = Buffer.from(this.#pending.join(''));
    this.#pending = [];
    this.#pendingBytes = 0;
    let offset = 0;
    // Bounded: a partial write is continued while the kernel takes bytes; any error ends the attempt.
    for (let attempt = 0; attempt < 16 && offset < chunk.length; attempt++) {
      try {
        const written = writeSync(this.#fd, chunk, offset, chunk.length - offset);
        if (written <= 0) break;
        offset += written;
      } catch {
        break;
      }
    }
  }

  /** Flushes what is queued (one attempt) and stops accepting lines; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.flushSync();
    this.#closed = true;
    process.removeListener('exit', this.#flushOnExit);
  }

  #idle(): boolean {
    return this.#readerGone || (this.#inFlight === undefined && this.#pending.length === 0);
  }

  #writeNext(): void {
    if (this.#pending.length === 0) {
      if (this.#idle()) for (const done of this.#drained.splice(0)) done();
      return;
    }
    const chunk = Buffer.from(this.#pending.join(''));
    this.#inFlightLines = this.#pending.length;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#send(chunk);
  }

  #send(chunk: Buffer): void {
    this.#inFlight = chunk;
    write(this.#fd, chunk, 0, chunk.length, null, (error, written) => {
      if (error) {
        if (error.code === 'EAGAIN' || error.code === 'EWOULDBLOCK') {
          // A non-blocking pipe that is full: try again shortly, without holding the process open.
          setTimeout(() => this.#send(chunk), RETRY_MS).unref();
          return;
        }
        this.#dropped += this.#inFlightLines;
        this.#inFlight = undefined;
        if (READER_GONE.has(error.code ?? '')) {
          this.#readerGone = true;
          this.#dropped += this.#pending.length;
          this.#pending = [];
          this.#pendingBytes = 0;
          for (const done of this.#drained.splice(0)) done();
          return;
        }
        this.#writeNext();
        return;
      }
      if (written < chunk.length) {
        this.#send(chunk.subarray(written));
        return;
      }
      this.#inFlight = undefined;
      this.#writeNext();
    });
  }
}
