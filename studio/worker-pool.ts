import type { Worker } from 'node:worker_threads';

export interface WorkerPoolOptions {
  /** Idle threads kept per worker file (e.g. `looks-worker.js`); a file not named keeps one. */
  maxIdle: Record<string, number>;
  /** An idle thread is ended after this long unused. */
  idleMs: number;
}

interface IdleThread {
  worker: Worker;
  timer: NodeJS.Timeout;
  /** On the thread's `exit` and `error` while idle (an unheard 'error' event would throw). */
  onGone: () => void;
}

/**
 * Studio worker threads kept warm between runs: starting one costs a fresh V8 isolate and its modules
 * (the transform chain, the face model), about half a second of CPU, which a preview pays per shot
 * otherwise. Only a thread whose run ended cleanly, with no child left, comes back here; idle ones are
 * unref'd (they never hold the process open) and ended after `idleMs` or on close().
 */
export class WorkerPool {
  private readonly idle = new Map<string, IdleThread[]>();
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  /** A warm thread of `file`, or undefined when none is idle. */
  take(file: string): Worker | undefined {
    const thread = this.idle.get(file)?.pop();
    if (!thread) return undefined;
    this.forget(thread);
    thread.worker.ref();
    return thread.worker;
  }

  /** Keeps a thread that finished a run cleanly for the next run, or ends it when enough are idle. */
  give(file: string, worker: Worker): void {
    const threads = this.idle.get(file) ?? [];
    if (this.closed || threads.length >= (this.options.maxIdle[file] ?? 1)) {
      void worker.terminate();
      return;
    }
    const thread: IdleThread = {
      worker,
      timer: setTimeout(() => this.drop(file, thread), this.options.idleMs).unref(),
      onGone: () => this.drop(file, thread),
    };
    worker.on('exit', thread.onGone).on('error', thread.onGone);
    worker.unref();
    threads.push(thread);
    this.idle.set(file, threads);
  }

  /** Idle threads of `file` (tests). */
  idleCount(file: string): number {
    return this.idle.get(file)?.length ?? 0;
  }

  /** Ends every idle thread; threads given back later are ended at once. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(
      threads.map((thread) => {
        this.forget(thread);
        return thread.worker.terminate();
      }),
    );
  }

  /** Ends an idle thread (its time is up, or it failed or exited on its own). */
  private drop(file: string, thread: IdleThread): void {
    const threads = this.idle.get(file);
    const index = threads?.indexOf(thread) ?? -1;
    if (index < 0) return;
    threads!.splice(index, 1);
    this.forget(thread);
    void thread.worker.terminate();
  }

  private forget(thread: IdleThread): void {
    clearTimeout(thread.timer);
    thread.worker.off('exit', thread.onGone).off('error', thread.onGone);
  }
}
