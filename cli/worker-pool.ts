import type { JobQueueStats } from '../core/jobs/job-queue.js';
import type { Logger } from '../core/logger.js';
import { diesWithParent } from '../core/process/dies-with-parent.js';
import { SupervisedProcess } from '../core/process/supervised-process.js';

export interface WorkerPoolOptions {
  min: number;
  max: number;
  /** Jobs (waiting + running) one worker is expected to carry; more per worker starts another. */
  jobsPerWorker: number;
  /** A job waiting longer than this starts another worker even when the backlog per worker is low. */
  maxWaitS: number;
  /** A worker more than the backlog needs is stopped after the backlog stayed that low this long. */
  idleGraceS: number;
  /** How often the queue is read (ms). */
  intervalMs?: number;
  /** The worker command line (`node bin/livefx.js worker …`). */
  command: string;
  args: readonly string[];
  /** The queues' counts now (BullMQ). */
  stats: () => Promise<JobQueueStats[]>;
  /** Where the workers' own log lines go. */
  output: NodeJS.WritableStream;
  log: Logger;
}

/**
 * `livefx workers`: keeps between --min and --max `livefx worker` processes on this machine, each
 * supervised (restarted if it crashes, killed with this process). It starts one when the backlog per
 * worker passes --jobs-per-worker or the oldest job has waited --max-wait-s, and stops the newest one
 * once the backlog has needed fewer workers for --idle-grace-s (its running job, if any, goes back to
 * the queue). Every decision is one log line with its reason.
 */
export class WorkerPool {
  private readonly workers: { process: SupervisedProcess }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lowSince: number | undefined;
  private lastAgeStart = 0;
  private ticking = false;
  private closing: Promise<void> | undefined;
  private queueDown = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  get size(): number {
    return this.workers.length;
  }

  /** The worker process ids (for tests and logs). */
  get pids(): (number | undefined)[] {
    return this.workers.map((worker) => worker.process.pid);
  }

  start(): void {
    if (this.timer || this.closing) return;
    while (this.workers.length < this.options.min) this.startWorker(`below --min ${this.options.min}`);
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 1000);
  }

  /** One look at the queue and at most one decision (start or stop). */
  async tick(): Promise<void> {
    if (this.ticking || this.closing) return;
    this.ticking = true;
    try {
      let stats: JobQueueStats[];
      try {
        stats = await this.options.stats();
      } catch (error) {
        // Without the queue's counts nothing is decided; the workers keep running and reconnect themselves.
        if (!this.queueDown) this.options.log.warn({ err: error }, 'cannot read the job queue; keeping the workers as they are');
        this.queueDown = true;
        return;
      }
      this.queueDown = false;
      this.decide(stats);
    } finally {
      this.ticking = false;
    }
  }

  private decide(stats: JobQueueStats[]): void {
    const { min, max, jobsPerWorker, maxWaitS, idleGraceS } = this.options;
    const waiting = stats.reduce((sum, queue) => sum + queue.waiting, 0);
    const active = stats.reduce((sum, queue) => sum + queue.active, 0);
    const oldestS = Math.max(0, ...stats.map((queue) => queue.oldestWaitingS));
    const backlog = waiting + active;
    const workers = this.workers.length;
    const facts = { waiting, active, oldestWaitingS: Math.round(oldestS * 10) / 10, workers };
    const now = Date.now();
    if (workers < min) {
      this.startWorker(`below --min ${min}`, facts);
      return;
    }
    if (workers < max && backlog > workers * jobsPerWorker) {
      this.lowSince = undefined;
      this.startWorker(`backlog ${backlog} jobs > ${workers} workers × ${jobsPerWorker} jobs per worker`, facts);
      return;
    }
    // Once per --max-wait-s at most: a new worker needs a moment before the oldest job moves.
    if (workers < max && waiting > 0 && oldestS > maxWaitS && now - this.lastAgeStart > maxWaitS * 1000) {
      this.lowSince = undefined;
      this.lastAgeStart = now;
      this.startWorker(`oldest job waited ${facts.oldestWaitingS} s > --max-wait-s ${maxWaitS}`, facts);
      return;
    }
    if (workers > min && backlog <= (workers - 1) * jobsPerWorker) {
      this.lowSince ??= now;
      if (now - this.lowSince >= idleGraceS * 1000) {
        this.lowSince = undefined;
        void this.stopNewest(`backlog ${backlog} jobs fits ${workers - 1} workers for ${idleGraceS} s (--idle-grace-s)`, facts);
      }
      return;
    }
    this.lowSince = undefined;
  }

  private startWorker(reason: string, facts: Record<string, number> = { workers: this.workers.length }): void {
    const [command, args] = diesWithParent(this.options.command, this.options.args);
    const process = new SupervisedProcess({ role: 'worker', command, args: () => args, killTimeoutMs: 15_000, healthyAfterMs: 10_000, maxBackoffMs: 10_000 });
    process.on('start', (child) => {
      child.stdout.pipe(this.options.output, { end: false });
    });
    process.on('crash', (crash) => this.options.log.warn({ code: crash.code, signal: crash.signal, restartInMs: crash.restartInMs, stderr: crash.stderrTail }, 'a worker died; restarting it'));
    process.start();
    this.workers.push({ process });
    this.options.log.info({ decision: 'start', ...facts, workersNow: this.workers.length, pid: process.pid, reason }, `starting a worker: ${reason}`);
  }

  private async stopNewest(reason: string, facts: Record<string, number>): Promise<void> {
    const worker = this.workers.pop();
    if (!worker) return;
    this.options.log.info({ decision: 'stop', ...facts, workersNow: this.workers.length, pid: worker.process.pid, reason }, `stopping a worker: ${reason}`);
    await worker.process.close();
  }

  /** Stops deciding and stops every worker (SIGTERM: their running jobs go back to the queue). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      const workers = this.workers.splice(0);
      await Promise.all(workers.map((worker) => worker.process.close()));
    })();
    return this.closing;
  }
}
