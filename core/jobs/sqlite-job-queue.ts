import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Migration } from '../database.js';
import { TypedEmitter } from '../typed-emitter.js';
import { JOB_ID_PATTERN, type EnqueueOptions, type Job, type JobHandler, type JobQueue, type JobQueueEvents, type JobQueueStats, type JobStatus } from './job-queue.js';

export const highlightMigrations: readonly Migration[] = [
  {
    id: 'highlights/1-jobs',
    up(db) {
      db.exec(`
        CREATE TABLE highlight_jobs (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          params TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
          progress REAL NOT NULL DEFAULT 0,
          stage TEXT NOT NULL DEFAULT 'queued',
          result TEXT,
          error TEXT,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX highlight_jobs_by_status ON highlight_jobs (status, created_at);
      `);
    },
  },
];

interface JobRecord {
  id: string;
  kind: string;
  params: string;
  status: JobStatus;
  progress: number;
  stage: string;
  result: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

function toJob(row: JobRecord): Job {
  return {
    id: row.id,
    kind: row.kind,
    params: JSON.parse(row.params) as unknown,
    status: row.status,
    progress: row.progress,
    stage: row.stage,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface SqliteJobQueueOptions {
  db: Database;
  /** Handlers known from the start; more can be registered before start(). */
  handlers?: Record<string, JobHandler>;
  concurrency: number;
  onError?: (error: unknown, job: Job) => void;
}

/**
 * The in-process job queue, persisted in livefx.db (`highlight_jobs`). At most `concurrency` jobs run
 * at once, oldest first. A job left `running` by a crash or restart is queued again at start-up and
 * runs from scratch (its handler must be safe to repeat: outputs are rewritten whole).
 */
export class SqliteJobQueue extends TypedEmitter<JobQueueEvents> implements JobQueue {
  private readonly db: Database;
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private lastProgressWrite = new Map<string, number>();
  private isClosed = false;
  private started = false;

  private readonly handlers = new Map<string, JobHandler>();

  constructor(private readonly options: SqliteJobQueueOptions) {
    super();
    this.db = options.db;
    for (const [kind, handler] of Object.entries(options.handlers ?? {})) this.register(kind, handler);
  }

  register(kind: string, handler: JobHandler): void {
    if (this.handlers.has(kind)) throw new Error(`jobs of kind "${kind}" already have a handler`);
    this.handlers.set(kind, handler);
    if (this.started) queueMicrotask(() => this.pump());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Re-queues what was running when the process stopped, then starts taking jobs. */
  async start(): Promise<{ requeued: number }> {
    return this.startNow();
  }

  /** start() for callers that cannot wait (the CLI's detached runs, tests). */
  startNow(): { requeued: number } {
    if (this.started) return { requeued: 0 };
    this.started = true;
    const requeued = this.db
      .prepare("UPDATE highlight_jobs SET status = 'queued', progress = 0, stage = 'queued (restarted)', updated_at = ? WHERE status = 'running'")
      .run(new Date().toISOString()).changes;
    this.pump();
    return { requeued };
  }

  async enqueue(kind: string, params: unknown, options: EnqueueOptions = {}): Promise<Job> {
    return this.enqueueNow(kind, params, options);
  }

  private enqueueNow(kind: string, params: unknown, options: EnqueueOptions): Job {
    if (this.isClosed) throw new Error('the job queue is closed');
    if (!this.handlers.has(kind)) throw new Error(`no handler for jobs of kind "${kind}"`);
    if (options.id !== undefined && !JOB_ID_PATTERN.test(options.id)) throw new Error(`job id "${options.id}" must be 1–128 letters, digits, "-", "_" or "." (not digits only, not starting with ".")`);
    const now = new Date().toISOString();
    const id = options.id ?? randomUUID();
    // The same id twice is one job: the second enqueue returns the first.
    this.db
      .prepare("INSERT OR IGNORE INTO highlight_jobs (id, kind, params, status, progress, stage, created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, 'queued', ?, ?)")
      .run(id, kind, JSON.stringify(params), now, now);
    queueMicrotask(() => this.pump());
    return this.read(id)!;
  }

  async get(id: string): Promise<Job | undefined> {
    return this.read(id);
  }

  private read(id: string): Job | undefined {
    const row = this.db.prepare('SELECT * FROM highlight_jobs WHERE id = ?').get(id) as JobRecord | undefined;
    return row ? toJob(row) : undefined;
  }

  async list(filter: { kind?: string; status?: JobStatus } = {}): Promise<Job[]> {
    const where: string[] = [];
    const values: string[] = [];
    if (filter.kind) {
      where.push('kind = ?');
      values.push(filter.kind);
    }
    if (filter.status) {
      where.push('status = ?');
      values.push(filter.status);
    }
    const sql = `SELECT * FROM highlight_jobs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC`;
    return (this.db.prepare(sql).all(...values) as JobRecord[]).map(toJob);
  }

  async cancel(id: string): Promise<Job | undefined> {
    const job = this.read(id);
    if (!job) return undefined;
    if (job.status === 'queued' || job.status === 'running') {
      this.update(id, { status: 'cancelled', stage: 'cancelled' });
      this.running.get(id)?.controller.abort();
    }
    return this.read(id);
  }

  async setResult(id: string, result: unknown): Promise<Job | undefined> {
    this.db.prepare('UPDATE highlight_jobs SET result = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(result), new Date().toISOString(), id);
    return this.read(id);
  }

  async remove(id: string): Promise<boolean> {
    if (this.running.has(id)) return false;
    return this.db.prepare("DELETE FROM highlight_jobs WHERE id = ? AND status NOT IN ('queued', 'running')").run(id).changes > 0;
  }

  async stats(deadlineS: number): Promise<JobQueueStats[]> {
    const rows = this.db
      .prepare(
        `SELECT kind,
           SUM(status = 'queued') AS waiting, SUM(status = 'running') AS active, SUM(status = 'failed') AS failed,
           MIN(CASE WHEN status = 'queued' THEN created_at END) AS oldest_waiting,
           MIN(CASE WHEN status IN ('queued', 'running') THEN created_at END) AS oldest_open
         FROM highlight_jobs GROUP BY kind`,
      )
      .all() as { kind: string; waiting: number; active: number; failed: number; oldest_waiting: string | null; oldest_open: string | null }[];
    const byKind = new Map(rows.map((row) => [row.kind, row]));
    const now = Date.now();
    return [...new Set([...this.handlers.keys(), ...byKind.keys()])].sort().map((kind) => {
      const row = byKind.get(kind);
      return {
        queue: kind,
        waiting: row?.waiting ?? 0,
        active: row?.active ?? 0,
        delayed: 0,
        failed: row?.failed ?? 0,
        oldestWaitingS: row?.oldest_waiting ? Math.max(0, (now - Date.parse(row.oldest_waiting)) / 1000) : 0,
        deadlineS: row?.oldest_open ? (Date.parse(row.oldest_open) + deadlineS * 1000 - now) / 1000 : null,
      };
    });
  }

  async settled(id: string): Promise<void> {
    await this.running.get(id)?.done;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    // Aborted jobs stay `running` in the table: the next start queues them again.
    for (const entry of this.running.values()) entry.controller.abort();
    await Promise.all([...this.running.values()].map((entry) => entry.done));
    this.removeAllListeners();
  }

  private pump(): void {
    if (this.isClosed || !this.started) return;
    while (this.running.size < this.options.concurrency) {
      const kinds = [...this.handlers.keys()];
      if (kinds.length === 0) return;
      const row = this.db
        .prepare(`SELECT * FROM highlight_jobs WHERE status = 'queued' AND kind IN (${kinds.map(() => '?').join(', ')}) ORDER BY created_at, rowid LIMIT 1`)
        .get(...kinds) as JobRecord | undefined;
      if (!row) return;
      this.update(row.id, { status: 'running', stage: 'starting', progress: 0 });
      this.run(toJob({ ...row, status: 'running' }));
    }
  }

  private run(job: Job): void {
    const controller = new AbortController();
    const handler = this.handlers.get(job.kind)!;
    const done = (async () => {
      try {
        const result = await handler(job, {
          signal: controller.signal,
          progress: (fraction, stage) => this.reportProgress(job.id, fraction, stage, controller.signal),
        });
        if (controller.signal.aborted) return;
        this.update(job.id, { status: 'done', progress: 1, stage: 'done', result: JSON.stringify(result ?? null) });
        this.safeEmit('done', this.read(job.id)!);
      } catch (error) {
        if (controller.signal.aborted) return;
        const message = error instanceof Error ? error.message : String(error);
        this.update(job.id, { status: 'failed', stage: 'failed', error: message });
        this.options.onError?.(error, job);
        this.safeEmit('failed', this.read(job.id)!);
      }
    })().finally(() => {
      this.running.delete(job.id);
      this.lastProgressWrite.delete(job.id);
      this.pump();
    });
    this.running.set(job.id, { controller, done });
  }

  private reportProgress(id: string, fraction: number, stage: string, signal: AbortSignal): void {
    if (signal.aborted) return;
    const now = performance.now();
    const last = this.lastProgressWrite.get(id) ?? 0;
    // A stage change is always written; within a stage at most 10 writes a second.
    const current = this.read(id);
    if (current && current.stage === stage && now - last < 100) return;
    this.lastProgressWrite.set(id, now);
    this.update(id, { progress: Math.min(1, Math.max(0, fraction)), stage });
    this.safeEmit('progress', this.read(id)!);
  }

  private update(id: string, fields: Partial<{ status: JobStatus; progress: number; stage: string; result: string; error: string }>): void {
    const sets = Object.keys(fields).map((key) => `${key} = ?`);
    this.db.prepare(`UPDATE highlight_jobs SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`).run(...Object.values(fields), new Date().toISOString(), id);
  }
}
