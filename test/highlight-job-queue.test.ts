import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobContext, JobHandler } from '../core/jobs/job-queue.js';
import { highlightMigrations, SqliteJobQueue } from '../core/jobs/sqlite-job-queue.js';
import { LivefxDatabase } from '../core/database.js';

let dir: string;
let database: LivefxDatabase;
const open: SqliteJobQueue[] = [];

function queue(handlers: Record<string, JobHandler>, concurrency = 1): SqliteJobQueue {
  const created = new SqliteJobQueue({ db: database.db, handlers, concurrency });
  open.push(created);
  created.startNow();
  return created;
}

/** A handler that waits until aborted or released. */
function blocking(): { handler: JobHandler; calls: string[]; release: () => void } {
  const calls: string[] = [];
  let release = (): void => {};
  const handler: JobHandler = (job, context: JobContext) =>
    new Promise((resolve, reject) => {
      calls.push(job.id);
      context.progress(0.5, 'waiting');
      release = () => resolve({ ok: job.id });
      context.signal.addEventListener('abort', () => reject(new Error('aborted')));
    });
  return { handler, calls, release: () => release() };
}

const until = async (check: () => boolean | Promise<boolean>): Promise<void> => {
  for (let tries = 0; tries < 200 && !(await check()); tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(await check()).toBe(true);
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livefx-jobs-'));
  database = LivefxDatabase.open(dir, highlightMigrations);
});

afterEach(async () => {
  for (const created of open.splice(0)) await created.close();
  database.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SqliteJobQueue', () => {
  it('runs jobs with progress and results, at most `concurrency` at once', async () => {
    const work = blocking();
    const jobs = queue({ work: work.handler }, 1);
    const progress: number[] = [];
    jobs.on('progress', (job) => progress.push(job.progress));
    const a = await jobs.enqueue('work', { n: 1 });
    const b = await jobs.enqueue('work', { n: 2 });
    await until(() => work.calls.length === 1);
    expect(await jobs.get(a.id)).toMatchObject({ status: 'running', stage: 'waiting', progress: 0.5 });
    expect((await jobs.get(b.id))!.status).toBe('queued');
    work.release();
    await until(() => work.calls.length === 2);
    expect(await jobs.get(a.id)).toMatchObject({ status: 'done', progress: 1, result: { ok: a.id }, params: { n: 1 } });
    expect(progress).toContain(0.5);
  });

  it('cancels queued and running jobs; a failing handler marks the job failed with its message', async () => {
    const work = blocking();
    const jobs = queue({ work: work.handler, broken: async () => Promise.reject(new Error('disk on fire')) }, 1);
    const running = await jobs.enqueue('work', {});
    const waiting = await jobs.enqueue('work', {});
    await until(() => work.calls.length === 1);
    expect((await jobs.cancel(waiting.id))!.status).toBe('cancelled');
    expect((await jobs.cancel(running.id))!.status).toBe('cancelled');
    await jobs.settled(running.id);
    expect(work.calls).toEqual([running.id]);
    const broken = await jobs.enqueue('broken', {});
    await until(async () => (await jobs.get(broken.id))!.status === 'failed');
    expect((await jobs.get(broken.id))!.error).toBe('disk on fire');
    expect(await jobs.cancel('unknown')).toBeUndefined();
  });

  it('a job running when the queue stopped runs again from scratch on the next start', async () => {
    const work = blocking();
    const before = queue({ work: work.handler }, 1);
    const job = await before.enqueue('work', {});
    await until(() => work.calls.length === 1);
    await before.close();
    expect((await before.get(job.id))!.status).toBe('running');
    const again = blocking();
    const after = new SqliteJobQueue({ db: database.db, handlers: { work: again.handler }, concurrency: 1 });
    open.push(after);
    expect(await after.start()).toEqual({ requeued: 1 });
    await until(() => again.calls.length === 1);
    again.release();
    await until(async () => (await after.get(job.id))!.status === 'done');
  });

  it('runs only the kinds registered with it: two queues on one table do not take each other\'s jobs', async () => {
    const highlights = blocking();
    const renders = blocking();
    const first = queue({ highlights: highlights.handler }, 2);
    const second = queue({}, 2);
    const renderJob = await first.enqueue('highlights', {}).then(() => second.enqueue('renders', {})).catch((error: Error) => error);
    expect(renderJob).toBeInstanceOf(Error);
    expect((renderJob as Error).message).toMatch(/no handler for jobs of kind "renders"/);
    second.register('renders', renders.handler);
    const job = await second.enqueue('renders', {});
    await until(() => highlights.calls.length === 1 && renders.calls.length === 1);
    expect(renders.calls).toEqual([job.id]);
    expect(highlights.calls).not.toContain(job.id);
    expect(() => second.register('renders', renders.handler)).toThrow(/already have a handler/);
  });

  it('an enqueue with an id that exists returns that job; stats count waiting and running jobs per kind with the oldest age and deadline', async () => {
    const work = blocking();
    const jobs = queue({ work: work.handler }, 1);
    const first = await jobs.enqueue('work', { n: 1 }, { id: 'recording-3-preview' });
    const again = await jobs.enqueue('work', { n: 2 }, { id: 'recording-3-preview' });
    expect(again.id).toBe(first.id);
    expect(again.params).toEqual({ n: 1 });
    await jobs.enqueue('work', { n: 3 });
    await until(() => work.calls.length === 1);
    const [stats] = await jobs.stats(600);
    expect(stats).toMatchObject({ queue: 'work', waiting: 1, active: 1, delayed: 0, failed: 0 });
    expect(stats!.oldestWaitingS).toBeGreaterThanOrEqual(0);
    expect(stats!.deadlineS).toBeGreaterThan(590);
    expect(stats!.deadlineS).toBeLessThanOrEqual(600);
    await expect(jobs.enqueue('work', {}, { id: 'no spaces' })).rejects.toThrow(/job id "no spaces" must be/);
  });
});
