import { Worker } from 'node:worker_threads';

export interface ShutdownDeadlineOptions {
  /** How long shutdown may take before the process goes anyway. */
  ms: number;
  /** Called on the main thread when the deadline passes, just before exit code 1 (e.g. to log it). */
  onExpired: () => void;
  /** Extra time the watchdog thread gives a main thread that cannot run its own timer. Default 2 s. */
  watchdogGraceMs?: number;
}

/** The watchdog thread: if the main thread is stuck in synchronous code, its timers never fire, so a thread of its own ends the process. */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setTimeout(() => process.kill(workerData.pid, 'SIGKILL'), workerData.ms);
`;

/**
 * The hard deadline of a shutdown: a timer on the main thread exits with code 1 when it passes, and a
 * watchdog thread kills the process a little later should the main thread be blocked (children die
 * with it through PR_SET_PDEATHSIG). Neither keeps an otherwise finished process alive.
 */
export class ShutdownDeadline {
  readonly #timer: NodeJS.Timeout;
  readonly #watchdog: Worker | undefined;
  #closed = false;

  constructor(options: ShutdownDeadlineOptions) {
    this.#timer = setTimeout(() => {
      try {
        options.onExpired();
      } finally {
        process.exit(1);
      }
    }, options.ms);
    this.#timer.unref();
    try {
      this.#watchdog = new Worker(WATCHDOG, { eval: true, workerData: { pid: process.pid, ms: options.ms + (options.watchdogGraceMs ?? 2000) } });
      this.#watchdog.unref();
      // A watchdog that cannot start leaves the main-thread timer, which holds unless that thread is blocked.
      this.#watchdog.on('error', () => undefined);
    } catch {
      this.#watchdog = undefined;
    }
  }

  /** Cancels both; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    void this.#watchdog?.terminate();
  }
}
