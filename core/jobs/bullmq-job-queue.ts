import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Job as BullJob, Queue, QueueEvents, UnrecoverableError, WaitingError, Worker, type ConnectionOptions, type JobType } from 'bullmq';
import { MalformedJobError } from './malformed-job-error.js';
import { LivefxError } from '../errors.js';
import type { Logger } from '../logger.js';
import { TypedEmitter } from '../typed-emitter.js';
import { JOB_ID_PATTERN, type EnqueueOptions, type Job, type JobHandler, type JobQueue, type JobQueueEvents, type JobQueueStats, type JobStatus } from './job-queue.js';

/** What livefx stores in a BullMQ job's data: the job's parameters and the facts BullMQ has no field for. */
interface JobEnvelope {
  kind: string;
  params: unknown;
  /** Set by cancel(): a worker that picks the job up drops it; a running one is aborted through pub/sub. */
  cancelled?: boolean;
  /** A result replaced after the fact (review decisions) wins over the worker's return value. */
  replacedResult?: { value: unknown };
}

interface JobProgressValue {
  fraction: number;
  stage: string;
}

export interface BullMqJobQueueOptions {
  /** LIVEFX_REDIS_URL. */
  url: string;
  /** Runs the registered kinds in this process; false: only enqueues, reads and cancels (LIVEFX_WORKERS=external). */
  work: boolean;
  /** Kinds this process works on (`livefx worker --queues`); unset: every registered kind. */
  workKinds?: readonly string[];
  /** Jobs of one kind that run at once in this process. */
  concurrency: number;
  /** Tries per job; a failed try waits 2 s, 4 s, … (exponential backoff). */
  attempts: number;
  /** A worker's lock on its job; a killed worker's job is re-run by another within about twice this. */
  lockMs: number;
  /** Key prefix in Redis (tests keep apart with their own). */
  prefix?: string;
  log: Logger;
}

const OPEN_STATES: readonly JobType[] = ['active', 'waiting', 'prioritized', 'delayed', 'waiting-children'];
const ALL_STATES: readonly JobType[] = [...OPEN_STATES, 'completed', 'failed'];
const START_TIMEOUT_MS = 5000;
const CANCELLED = 'cancelled';
/** A custom event on each queue's event stream (read by every process's QueueEvents). */
const CANCEL_EVENT = 'livefx-cancel';
/** BullMQ's default length of a queue's event stream. */
const EVENTS_KEPT = 10_000;

/** The URL with its password hidden, for logs and error messages. */
export function redisUrlForDisplay(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** ioredis options from a redis:// URL (BullMQ makes its own connections from them). */
function connectionOf(url: string): { host: string; port: number; username?: string; password?: string; db: number; tls?: object } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** A job's data as livefx wrote it, or why it is not (a payload someone else put in the queue). */
function readEnvelope(queue: string, data: unknown): JobEnvelope {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UnrecoverableError(`malformed job payload in queue "${queue}": expected an object with "kind" and "params", got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  const envelope = data as Partial<JobEnvelope>;
  if (envelope.kind !== queue) throw new UnrecoverableError(`malformed job payload in queue "${queue}": "kind" must be "${queue}", got ${JSON.stringify(envelope.kind) ?? 'nothing'}`);
  if (!('params' in envelope) || typeof envelope.params !== 'object' || envelope.params === null) throw new UnrecoverableError(`malformed job payload in queue "${queue}": "params" must be an object`);
  return envelope as JobEnvelope;
}

/**
 * The job queue on BullMQ (Redis): one BullMQ queue per job kind, shared by every node and `livefx worker`.
 * A job id given to enqueue() makes it idempotent (BullMQ keeps one job per id). Tries back off
 * exponentially; a malformed payload or a cancel fails at once (UnrecoverableError). A killed worker's
 * lock expires and the stalled check hands its job to another worker. Progress goes through
 * job.updateProgress and reaches every node through QueueEvents; cancel reaches the worker that runs
 * the job over Redis pub/sub and aborts its handler's signal (its ffmpeg children die with it).
 * Handlers do their heavy work in child processes and worker threads, so the event loop that renews
 * the locks stays free.
 */
export class BullMqJobQueue extends TypedEmitter<JobQueueEvents> implements JobQueue {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly events: QueueEvents[] = [];
  private readonly running = new Map<string, { controller: AbortController; cancelled: boolean }>();
  private readonly lastProgressWrite = new Map<string, { at: number; stage: string }>();
  private readonly connection: ConnectionOptions;
  private readonly prefix: string;
  private started = false;
  private isClosed = false;
  private closing: Promise<void> | undefined;
  private unreachableLogged = false;

  constructor(private readonly options: BullMqJobQueueOptions) {
    super();
    this.prefix = options.prefix ?? 'livefx';
    this.connection = connectionOf(options.url);
  }

  /** A client that only reads these queues (their counts for an autoscaler): it runs and enqueues nothing. */
  static observer(options: Omit<BullMqJobQueueOptions, 'work' | 'workKinds' | 'concurrency' | 'attempts'>, kinds: readonly string[]): BullMqJobQueue {
    const queue = new BullMqJobQueue({ ...options, work: false, concurrency: 1, attempts: 1 });
    const runsNothing: JobHandler = () => Promise.reject(new Error('an observer of the job queue runs no jobs'));
    for (const kind of kinds) queue.register(kind, runsNothing);
    return queue;
  }

  /** LIVEFX_REDIS_URL as shown to people (password hidden). */
  get displayUrl(): string {
    return redisUrlForDisplay(this.options.url);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  register(kind: string, handler: JobHandler): void {
    if (this.handlers.has(kind)) throw new Error(`jobs of kind "${kind}" already have a handler`);
    if (this.started) throw new Error(`register "${kind}" before start(): the BullMQ workers start there`);
    this.handlers.set(kind, handler);
    // Producers fail fast while Redis is away (503 queue_unavailable) instead of queueing commands.
    const queue = new Queue(kind, { connection: { ...this.connection, enableOfflineQueue: false, maxRetriesPerRequest: 1 }, prefix: this.prefix });
    queue.on('error', (error) => this.connectionError(error));
    this.queues.set(kind, queue);
  }

  /** Checks that Redis answers (a clear error naming the URL if not), then starts the workers and event listeners. */
  async start(): Promise<{ requeued: number }> {
    if (this.started) return { requeued: 0 };
    this.started = true;
    const first = this.queues.values().next().value;
    if (first) await this.reachable(first);
    const url = this.displayUrl;
    this.options.log.info({ redis: url, queues: [...this.queues.keys()], work: this.options.work }, 'job queue on BullMQ');
    for (const kind of this.queues.keys()) {
      // Read from a second back, not from '$': an event written while this reader connects is not lost (a replay is harmless).
      const queueEvents = new QueueEvents(kind, { connection: this.connection, prefix: this.prefix, lastEventId: `${Date.now() - 1000}-0` });
      queueEvents.on('error', (error) => this.connectionError(error));
      queueEvents.on('progress', ({ jobId }) => void this.emitFor('progress', jobId));
      queueEvents.on('completed', ({ jobId }) => void this.emitFor('done', jobId));
      queueEvents.on('failed', ({ jobId }) => void this.emitFor('failed', jobId));
      // cancel() publishes on the queue's event stream: the process running the job aborts it.
      queueEvents.on(CANCEL_EVENT as 'waiting', ({ jobId }) => this.abortRunning(jobId));
      this.events.push(queueEvents);
      if (!this.options.work || (this.options.workKinds && !this.options.workKinds.includes(kind))) continue;
      const worker = new Worker(kind, (job, token) => this.process(kind, job, token), {
        connection: this.connection,
        prefix: this.prefix,
        concurrency: this.options.concurrency,
        lockDuration: this.options.lockMs,
        stalledInterval: this.options.lockMs,
        maxStalledCount: 1,
      });
      worker.on('error', (error) => this.connectionError(error));
      worker.on('failed', (job, error) => {
        if (job && error.message !== CANCELLED) this.options.log.warn({ err: error, jobId: job.id, kind, attempt: job.attemptsMade }, 'job failed');
      });
      this.workers.push(worker);
    }
    return { requeued: 0 };
  }

  private abortRunning(id: string): void {
    const entry = this.running.get(id);
    if (!entry) return;
    entry.cancelled = true;
    entry.controller.abort();
  }

  private async reachable(queue: Queue): Promise<void> {
    const problem = `cannot reach Redis at ${this.displayUrl} (LIVEFX_REDIS_URL)`;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        queue.waitUntilReady().then(() => queue.getJobCounts('waiting')),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      throw new Error(`${problem}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  async enqueue(kind: string, params: unknown, options: EnqueueOptions = {}): Promise<Job> {
    if (this.isClosed) throw new Error('the job queue is closed');
    const queue = this.queues.get(kind);
    if (!queue) throw new Error(`no handler for jobs of kind "${kind}"`);
    if (options.id !== undefined && !JOB_ID_PATTERN.test(options.id)) throw new Error(`job id "${options.id}" must be 1–128 letters, digits, "-", "_" or "." (not digits only, not starting with ".")`);
    const envelope: JobEnvelope = { kind, params };
    // BullMQ keeps one job per id: adding an id that exists returns the job already there.
    const added = await this.guard(() =>
      queue.add(kind, envelope, {
        jobId: options.id ?? randomUUID(),
        attempts: this.options.attempts,
        backoff: { type: 'exponential', delay: 2000 },
      }),
    );
    return (await this.get(added.id!))!;
  }

  async get(id: string): Promise<Job | undefined> {
    return this.guard(async () => {
      const found = await this.find(id);
      return found ? this.toJob(found.job, found.state) : undefined;
    });
  }

  /** The job and its state, the state read first: the data read after it is at least as new (never "failed" without its reason). */
  private async find(id: string): Promise<{ job: BullJob; queue: Queue; state: string } | undefined> {
    for (const queue of this.queues.values()) {
      const state = await queue.getJobState(id);
      if (state === 'unknown') continue;
      const job = await BullJob.fromId(queue, id);
      if (job) return { job, queue, state };
    }
    return undefined;
  }

  async list(filter: { kind?: string; status?: JobStatus } = {}): Promise<Job[]> {
    return this.guard(async () => {
      const jobs: Job[] = [];
      for (const [kind, queue] of this.queues) {
        if (filter.kind && filter.kind !== kind) continue;
        for (const state of ALL_STATES) {
          for (const job of await queue.getJobs([state], 0, -1)) if (job) jobs.push(this.toJob(job, state));
        }
      }
      return jobs.filter((job) => !filter.status || job.status === filter.status).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    });
  }

  async cancel(id: string): Promise<Job | undefined> {
    return this.guard(async () => {
      const found = await this.find(id);
      if (!found) return undefined;
      const before = this.toJob(found.job, found.state);
      if (before.status === 'queued' || before.status === 'running') {
        await found.job.updateData({ ...(found.job.data as JobEnvelope), cancelled: true });
        // Whichever process runs it (this one or a worker elsewhere) aborts it.
        this.abortRunning(id);
        await found.queue.getBackend().publishEvent({ event: CANCEL_EVENT, jobId: id }, EVENTS_KEPT);
      }
      return this.get(id);
    });
  }

  async setResult(id: string, result: unknown): Promise<Job | undefined> {
    return this.guard(async () => {
      const found = await this.find(id);
      if (!found) return undefined;
      await found.job.updateData({ ...(found.job.data as JobEnvelope), replacedResult: { value: result } });
      return this.get(id);
    });
  }

  async remove(id: string): Promise<boolean> {
    return this.guard(async () => {
      const found = await this.find(id);
      if (!found) return false;
      if (found.state === 'active') return false;
      await found.job.remove();
      return true;
    });
  }

  /** Resolves once the job is not running (polled: it may run on another machine). */
  async settled(id: string): Promise<void> {
    for (;;) {
      const found = await this.guard(() => this.find(id));
      if (!found || found.state !== 'active') return;
      await sleep(100);
    }
  }

  async stats(deadlineS: number): Promise<JobQueueStats[]> {
    return this.guard(async () => {
      const now = Date.now();
      const stats: JobQueueStats[] = [];
      for (const [kind, queue] of this.queues) {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
        // BullMQ's lists are ordered by arrival, so the first of each is the oldest there.
        const [oldestWaiting] = await queue.getJobs(['waiting', 'prioritized'], 0, 0, true);
        const [oldestActive] = await queue.getJobs(['active'], 0, 0, true);
        const [firstDelayed] = await queue.getJobs(['delayed'], 0, 0, true);
        const openSince = [oldestWaiting, oldestActive, firstDelayed].filter((job) => job !== undefined).map((job) => job.timestamp);
        stats.push({
          queue: kind,
          waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          oldestWaitingS: oldestWaiting ? Math.max(0, (now - oldestWaiting.timestamp) / 1000) : 0,
          deadlineS: openSince.length > 0 ? (Math.min(...openSince) + deadlineS * 1000 - now) / 1000 : null,
        });
      }
      return stats;
    });
  }

  /** Stops taking jobs; running ones are aborted and put back in the queue for another worker (or the next start). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.isClosed = true;
      for (const entry of this.running.values()) entry.controller.abort();
      await Promise.all(this.workers.map((worker) => worker.close().catch(() => undefined)));
      await Promise.all(this.events.map((events) => events.close().catch(() => undefined)));
      await Promise.all([...this.queues.values()].map((queue) => queue.close().catch(() => undefined)));
      this.removeAllListeners();
    })();
    return this.closing;
  }

  /** Runs one BullMQ job with its kind's handler. */
  private async process(kind: string, bullJob: BullJob, token: string | undefined): Promise<unknown> {
    const envelope = readEnvelope(kind, bullJob.data);
    if (envelope.cancelled) throw new UnrecoverableError(CANCELLED);
    const id = bullJob.id!;
    const entry = { controller: new AbortController(), cancelled: false };
    this.running.set(id, entry);
    try {
      const job = { ...this.toJob(bullJob, 'active'), status: 'running' as const, stage: 'starting' };
      return (await this.handlers.get(kind)!(job, { signal: entry.controller.signal, progress: (fraction, stage) => this.reportProgress(bullJob, fraction, stage) })) ?? null;
    } catch (error) {
      if (entry.cancelled) throw new UnrecoverableError(CANCELLED);
      // Params no handler can read never work: failed once, not retried.
      if (error instanceof MalformedJobError) throw new UnrecoverableError(`malformed job payload in queue "${kind}": ${error.message}`);
      if (this.isClosed && entry.controller.signal.aborted) {
        // Shutting down: the job goes back to the queue for another worker instead of failing.
        await bullJob.moveToWait(token);
        throw new WaitingError();
      }
      throw error;
    } finally {
      this.running.delete(id);
      this.lastProgressWrite.delete(id);
    }
  }

  private reportProgress(bullJob: BullJob, fraction: number, stage: string): void {
    const now = performance.now();
    const last = this.lastProgressWrite.get(bullJob.id!);
    // A stage change is always written; within a stage at most 10 writes a second.
    if (last && last.stage === stage && now - last.at < 100) return;
    this.lastProgressWrite.set(bullJob.id!, { at: now, stage });
    const value: JobProgressValue = { fraction: Math.min(1, Math.max(0, fraction)), stage };
    bullJob.updateProgress(value).catch((error: unknown) => this.connectionError(error as Error));
  }

  private toJob(bullJob: BullJob, state: string): Job {
    const data = (typeof bullJob.data === 'object' && bullJob.data !== null ? bullJob.data : {}) as Partial<JobEnvelope>;
    const progress = (typeof bullJob.progress === 'object' && bullJob.progress !== null ? bullJob.progress : {}) as Partial<JobProgressValue>;
    let status: JobStatus;
    if (state === 'completed') status = 'done';
    else if (data.cancelled) status = state === 'active' ? 'running' : 'cancelled';
    else if (state === 'failed') status = 'failed';
    else if (state === 'active') status = 'running';
    else status = 'queued';
    // A cancelled job reads as cancelled at once, even while its worker is still stopping it.
    if (data.cancelled && status === 'running') status = 'cancelled';
    let stage = progress.stage ?? status;
    if (status === 'queued') stage = bullJob.attemptsMade > 0 ? `retrying (try ${bullJob.attemptsMade + 1} of ${bullJob.opts.attempts ?? 1})` : 'queued';
    else if (status !== 'running') stage = status;
    const updated = bullJob.finishedOn ?? bullJob.processedOn ?? bullJob.timestamp;
    return {
      id: bullJob.id!,
      kind: bullJob.queueName,
      params: data.params ?? null,
      status,
      progress: status === 'done' ? 1 : status === 'queued' ? 0 : (progress.fraction ?? 0),
      stage,
      result: data.replacedResult ? data.replacedResult.value : (bullJob.returnvalue ?? null),
      error: status === 'failed' ? bullJob.failedReason || 'failed' : null,
      createdAt: new Date(bullJob.timestamp).toISOString(),
      updatedAt: new Date(updated).toISOString(),
    };
  }

  private async emitFor(event: keyof JobQueueEvents, id: string): Promise<void> {
    try {
      const job = await this.get(id);
      if (job && !this.isClosed) this.safeEmit(event, job);
    } catch {
      // Redis went away between the event and the read: the next event reports again.
    }
  }

  /** Runs a Redis call; while Redis is unreachable it fails as 503 queue_unavailable (live streams are unaffected). */
  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof LivefxError || error instanceof UnrecoverableError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|Connection is closed|isn't writeable|enableOfflineQueue|MaxRetriesPerRequest|max retries|Stream|connect/i.test(message)) {
        throw new LivefxError('queue_unavailable', `the job queue's Redis at ${this.displayUrl} cannot be reached now (${message}); live streams are not affected, try again shortly`, { cause: error });
      }
      throw error;
    }
  }

  /** Redis errors arrive as 'error' events on every connection: logged once per outage, never thrown. */
  private connectionError(error: Error): void {
    if (this.unreachableLogged) return;
    this.unreachableLogged = true;
    this.options.log.warn({ err: error, redis: this.displayUrl }, 'job queue lost its Redis connection; retrying');
    setTimeout(() => {
      this.unreachableLogged = false;
    }, 30_000).unref();
  }
}
