/** Where a job stands; `running` jobs found at start-up are queued again and run from scratch. */
export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Job {
  id: string;
  /** Which handler runs it, e.g. `highlights` or `reel`. */
  kind: string;
  params: unknown;
  status: JobStatus;
  /** 0..1 */
  progress: number;
  stage: string;
  result: unknown;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface JobContext {
  /** Aborted on cancel and on close: handlers pass it to every child process they start. */
  signal: AbortSignal;
  progress(fraction: number, stage: string): void;
}

export type JobHandler = (job: Job, context: JobContext) => Promise<unknown>;

export interface EnqueueOptions {
  /** A caller-chosen job id (letters, digits, `-`, `_`, `.`; up to 128; not digits only, not starting with `.`: ids name output folders): the idempotency key. */
  id?: string;
}

/** What a queue (one kind of job) holds now. */
export interface JobQueueStats {
  queue: string;
  waiting: number;
  active: number;
  /** Waiting for a later try (backoff) or a set time. */
  delayed: number;
  failed: number;
  /** Age of the oldest waiting job (seconds); 0 when none waits. */
  oldestWaitingS: number;
  /** Seconds until the earliest deadline among jobs not finished (negative: overdue); null when there are none. */
  deadlineS: number | null;
}

/** Whether a caller's job id is acceptable (kept to what every backend stores as-is; BullMQ takes no all-digit ids). */
export const JOB_ID_PATTERN = /^(?!\d+$)[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export type JobQueueEvents = {
  progress: [job: Job];
  done: [job: Job];
  failed: [job: Job];
};

/**
 * A queue of background jobs with progress and cancellation: the seam a networked queue (BullMQ on
 * Redis) implements. Plain data in and out, every call asynchronous, so the in-process SQLite queue can
 * be swapped without touching its users. Features register the kinds they run; one queue serves them all.
 */
export interface JobQueue {
  /** Runs jobs of `kind` with `handler` in this process (a feature registers its kinds before start()). */
  register(kind: string, handler: JobHandler): void;
  /** Re-queues what a stop interrupted, then starts taking jobs of the registered kinds. */
  start(): Promise<{ requeued: number }>;
  /** Queues a job; with `id`, enqueueing the same id again (from any node) returns the existing job instead of a second one. */
  enqueue(kind: string, params: unknown, options?: EnqueueOptions): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /** Newest first. */
  list(filter?: { kind?: string; status?: JobStatus }): Promise<Job[]>;
  /** Cancels a queued or running job (a running one's children are killed); undefined for an unknown id. */
  cancel(id: string): Promise<Job | undefined>;
  /** Removes a job that no longer runs; false when it is unknown or still active. */
  remove(id: string): Promise<boolean>;
  /** Resolves once the job is not running (at once when it is not). */
  settled(id: string): Promise<void>;
  /** Replaces a finished job's result (review decisions). */
  setResult(id: string, result: unknown): Promise<Job | undefined>;
  on<E extends keyof JobQueueEvents>(event: E, listener: (...args: JobQueueEvents[E]) => void): this;
  off<E extends keyof JobQueueEvents>(event: E, listener: (...args: JobQueueEvents[E]) => void): this;
  /** Counts per kind (queue) for /metrics and the autoscaler; `deadlineS` is the queue's job deadline (LIVEFX_JOB_DEADLINE_S). */
  stats(deadlineS: number): Promise<JobQueueStats[]>;
  /** Stops taking jobs and aborts the running ones (they run again on the next start). Idempotent. */
  close(): Promise<void>;
}
