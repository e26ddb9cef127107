import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { JobCancelledError } from '../core/process/process-runner.js';
import { isWorkerChildrenMessage } from './worker-children.js';
import type { WorkerPool } from './worker-pool.js';

/** How long a thread gets to kill and reap its children on abort before it is ended regardless. */
const ABORT_GRACE_MS = 5000;

/** How a worker's messages end its run: `progress` feeds the watchdog, `done` and `fail` settle it. */
export interface StudioWorkerControl<Result> {
  progress(): void;
  done(result: Result): void;
  fail(error: Error): void;
}

export interface StudioWorkerOptions<Message, Result> {
  /** The worker's built file name in studio/ (e.g. `looks-worker.js`). */
  file: string;
  /** What this run works on: sent to the thread in its `run` message. */
  workerData: unknown;
  /** Warm threads: the run takes one from here, and gives it back when it ended cleanly. */
  pool?: WorkerPool;
  signal: AbortSignal;
  /** The run fails when the worker reports no progress for this long. */
  stallS: number;
  /** Words for errors: `${what} made no progress…`, `${what} worker failed…`. */
  what: string;
  makeError: (message: string) => Error;
  onMessage: (message: Message, control: StudioWorkerControl<Result>) => void;
}

/** The worker's file: beside this one when built, else the built copy (tests run the sources). */
function workerUrl(file: string, makeError: (message: string) => Error): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL(`./${file}`, import.meta.url);
  const built = new URL(`../dist/studio/${file}`, import.meta.url);
  if (!existsSync(fileURLToPath(built))) throw makeError(`the worker ${file} is not built (${fileURLToPath(built)}): run npm run build`);
  return built;
}

/** The message that starts a run in a studio worker thread (a thread serves one run at a time). */
export interface StudioWorkerRunMessage {
  type: 'run';
  data: unknown;
}

/**
 * One run of a studio worker thread (a shot's look pass, a follow-face sampler): a warm thread from
 * the pool or a new one, watched for progress, ended on cancel, on a stall or on failure (children
 * the thread started die with it); after a clean run with no child left it goes back to the pool.
 */
export class StudioWorker<Message, Result> {
  private worker: Worker | undefined;
  private closed = false;
  /** The thread's children still running, as it reported them (WorkerChildren). */
  private readonly childPids = new Set<number>();
  private aborted: (() => void) | undefined;
  private exited = false;

  constructor(private readonly options: StudioWorkerOptions<Message, Result>) {}

  run(): Promise<Result> {
    const { signal, stallS, what, makeError, onMessage: onThreadMessage } = this.options;
    if (signal.aborted) return Promise.reject(new JobCancelledError('cancelled'));
    const { file, pool } = this.options;
    return new Promise<Result>((resolve, reject) => {
      const worker = (this.worker = pool?.take(file) ?? new Worker(workerUrl(file, makeError), { execArgv: [] }));
      let lastProgress = performance.now();
      let settled = false;
      const finish = (error: Error | undefined, result?: Result): void => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
        if (!error && pool && this.childPids.size === 0 && !this.exited) {
          worker.off('message', onMessage).off('error', onError).off('exit', onExit);
          this.closed = true;
          this.worker = undefined;
          pool.give(file, worker);
          resolve(result as Result);
          return;
        }
        // Still listening: the abort handshake below needs the thread's `aborted` and `exit` (and an unheard 'error' would throw).
        void this.close().then(() => (error ? reject(error) : resolve(result as Result)));
      };
      const onAbort = (): void => finish(new JobCancelledError('cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      const watchdog = setInterval(() => {
        if (performance.now() - lastProgress > stallS * 1000) finish(makeError(`${what} made no progress for ${stallS} s and was stopped`));
      }, 1000);
      const control: StudioWorkerControl<Result> = {
        progress: () => (lastProgress = performance.now()),
        done: (result) => finish(undefined, result),
        fail: (error) => finish(error),
      };
      const onMessage = (message: Message): void => {
        if (!isWorkerChildrenMessage(message)) return settled ? undefined : onThreadMessage(message, control);
        if (message.type === 'child') this.childPids.add(message.pid);
        else if (message.type === 'child-exit') this.childPids.delete(message.pid);
        else this.aborted?.();
      };
      const onError = (error: Error): void => finish(makeError(`${what} worker failed: ${error.message}`));
      const onExit = (code: number): void => {
        this.exited = true;
        this.aborted?.();
        finish(makeError(`${what} worker exited with ${code}`));
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      worker.postMessage({ type: 'run', data: this.options.workerData } satisfies StudioWorkerRunMessage);
    });
  }

  /**
   * Ends the thread: it kills and reaps its children first (answering `aborted`), then it is terminated;
   * a child it reported that outlived a thread which never answered is SIGKILLed here. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    if (!this.exited) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.aborted = resolve;
        timer = setTimeout(resolve, ABORT_GRACE_MS);
        worker.postMessage({ type: 'abort' });
      });
      clearTimeout(timer);
    }
    await worker.terminate();
    for (const pid of this.childPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.childPids.clear();
  }
}
