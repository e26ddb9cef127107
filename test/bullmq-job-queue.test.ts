import { spawn } from 'node:child_process';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BullMqJobQueue } from '../core/jobs/bullmq-job-queue.js';
import type { Job, JobHandler } from '../core/jobs/job-queue.js';
import { LivefxError } from '../core/errors.js';
import { isAlive, waitFor } from './helpers/livefx-process.js';
import { startRedis, type RunningRedis } from './helpers/redis-server.js';

// A real Redis (Debian's redis-server) and real BullMQ queues; two queue objects stand for two processes.
let redis: RunningRedis;
const open: BullMqJobQueue[] = [];
const log = pino({ level: 'silent' });
let prefixCount = 0;
let prefix = 'test0';

function queue(handlers: Record<string, JobHandler>, options: { work?: boolean; url?: string; attempts?: number } = {}): BullMqJobQueue {
  const created = new BullMqJobQueue({ url: options.url ?? redis.url, work: options.work ?? true, concurrency: 1, attempts: options.attempts ?? 2, lockMs: 3000, prefix, log });
  for (const [kind, handler] of Object.entries(handlers)) created.register(kind, handler);
  open.push(created);
  return created;
}

const quick: JobHandler = async (job, context) => {
  context.progress(0.5, 'halfway');
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { doubled: (job.params as { n: number }).n * 2 };
};

const settledJob = (on: BullMqJobQueue, id: string, timeoutMs = 20_000): Promise<Job> =>
  waitFor(`job ${id} to finish`, async () => {
    const job = await on.get(id);
    return job && ['done', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
  }, timeoutMs);

beforeAll(async () => {
  redis = await startRedis({ appendOnly: true });
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((created) => created.close()));
  prefix = `test${++prefixCount}`;
});

afterAll(async () => {
  await Promise.all(open.map((created) => created.close()));
  await redis?.close();
});

describe('BullMqJobQueue on a real Redis', () => {
  it('two clients enqueueing the same job id at once make one job, run once', async () => {
    prefix = 'same-id';
    let runs = 0;
    const counting: JobHandler = async (job, context) => {
      runs++;
      return quick(job, context);
    };
    const nodeA = queue({ highlights: counting });
    const nodeB = queue({ highlights: counting });
    await Promise.all([nodeA.start(), nodeB.start()]);
    const [a, b] = await Promise.all([nodeA.enqueue('highlights', { n: 1 }, { id: 'recording-7-preview' }), nodeB.enqueue('highlights', { n: 2 }, { id: 'recording-7-preview' })]);
    expect(a.id).toBe('recording-7-preview');
    expect(b.id).toBe(a.id);
    const done = await settledJob(nodeA, a.id);
    expect(done.status).toBe('done');
    expect((await nodeB.list({ kind: 'highlights' })).length).toBe(1);
    expect(runs).toBe(1);
    expect(done.result).toEqual({ doubled: (done.params as { n: number }).n * 2 });
  });

  it('progress and completion reach a client that only enqueues (QueueEvents)', async () => {
    const worker = queue({ highlights: quick });
    const node = queue({ highlights: quick }, { work: false });
    await Promise.all([worker.start(), node.start()]);
    const stages: string[] = [];
    const done = new Promise<Job>((resolve) => node.on('done', resolve));
    node.on('progress', (job) => stages.push(job.stage));
    const job = await node.enqueue('highlights', { n: 21 });
    expect(job.status).toBe('queued');
    const finished = await done;
    expect(finished.id).toBe(job.id);
    expect(finished.result).toEqual({ doubled: 42 });
    expect(stages).toContain('halfway');
  });

  it('a malformed payload put in the queue fails once with a clear error, and the next job still runs', async () => {
    const worker = queue({ highlights: quick });
    await worker.start();
    // Someone else's producer writes straight into the queue, bypassing enqueue().
    const raw = new Queue('highlights', { connection: { host: '127.0.0.1', port: redis.port }, prefix });
    try {
      const bad = await raw.add('highlights', 'not an object' as unknown as object, { jobId: 'garbage-1', attempts: 5 });
      const badJob = await settledJob(worker, bad.id!);
      expect(badJob.status).toBe('failed');
      expect(badJob.error).toMatch(/malformed job payload in queue "highlights"/);
      // No retries for a payload that can never work (attempts 5 were asked for).
      expect((await raw.getJob('garbage-1'))!.attemptsMade).toBe(1);
      const good = await worker.enqueue('highlights', { n: 4 });
      expect((await settledJob(worker, good.id)).result).toEqual({ doubled: 8 });
    } finally {
      await raw.close();
    }
  });

  it('a failed try is retried after a backoff and then succeeds', async () => {
    let tries = 0;
    const flaky: JobHandler = async () => {
      tries++;
      if (tries === 1) throw new Error('disk hiccup');
      return { tries };
    };
    const worker = queue({ render: flaky });
    await worker.start();
    const job = await worker.enqueue('render', { n: 1 });
    const finished = await settledJob(worker, job.id, 30_000);
    expect(finished.status).toBe('done');
    expect(finished.result).toEqual({ tries: 2 });
  });

  it('cancel from another client reaches the worker, kills its ffmpeg, and is not retried', async () => {
    let ffmpegPid: number | undefined;
    const endless: JobHandler = (_job, context) =>
      new Promise((resolve, reject) => {
        const child = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=15', '-f', 'null', '-'], { signal: context.signal, stdio: 'ignore' });
        ffmpegPid = child.pid;
        context.progress(0.1, 'encoding');
        child.once('error', reject);
        child.once('exit', (code) => resolve({ code }));
      });
    const worker = queue({ render: endless });
    const node = queue({ render: endless }, { work: false });
    await Promise.all([worker.start(), node.start()]);
    const job = await node.enqueue('render', { n: 1 });
    await waitFor('the job running with its ffmpeg', async () => (await node.get(job.id))?.status === 'running' && ffmpegPid !== undefined && isAlive(ffmpegPid));
    const cancelled = await node.cancel(job.id);
    expect(cancelled!.status).toBe('cancelled');
    await waitFor('the worker to kill ffmpeg', () => !isAlive(ffmpegPid), 10_000);
    await node.settled(job.id);
    const after = (await node.get(job.id))!;
    expect(after.status).toBe('cancelled');
    // Still cancelled a backoff later: not retried.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await node.get(job.id))!.status).toBe('cancelled');
  });

  it('reports waiting, oldest waiting age and the earliest deadline per queue', async () => {
    const node = queue({ highlights: quick, render: quick }, { work: false });
    await node.start();
    for (let n = 0; n < 3; n++) await node.enqueue('highlights', { n });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const stats = await node.stats(900);
    const highlights = stats.find((entry) => entry.queue === 'highlights')!;
    expect(highlights.waiting).toBe(3);
    expect(highlights.active).toBe(0);
    expect(highlights.oldestWaitingS).toBeGreaterThanOrEqual(1);
    expect(highlights.deadlineS).toBeLessThanOrEqual(899);
    expect(highlights.deadlineS).toBeGreaterThan(800);
    const render = stats.find((entry) => entry.queue === 'render')!;
    expect(render).toMatchObject({ waiting: 0, oldestWaitingS: 0, deadlineS: null });
  });

  it('Redis unreachable at start: a clear error naming the URL', async () => {
    const unreachable = `redis://127.0.0.1:${redis.port + 1}`;
    const node = queue({ highlights: quick }, { url: unreachable });
    await expect(node.start()).rejects.toThrow(new RegExp(`cannot reach Redis at ${unreachable.replace(/[.]/g, '\\.')} \\(LIVEFX_REDIS_URL\\)`));
  });

  it('Redis restarted mid-job: the job completes, and calls made while it is down answer queue_unavailable until it is back', async () => {
    let released = false;
    let release: () => void = () => {};
    // A re-run after the restart (the lock lapsed) finishes at once once released.
    const slow: JobHandler = (job) =>
      new Promise((resolve) => {
        release = () => {
          released = true;
          resolve({ n: (job.params as { n: number }).n });
        };
        if (released) release();
      });
    const worker = queue({ highlights: slow });
    const node = queue({ highlights: slow }, { work: false });
    await Promise.all([worker.start(), node.start()]);
    const job = await node.enqueue('highlights', { n: 5 });
    await waitFor('the job running', async () => (await node.get(job.id))?.status === 'running');
    await redis.stop();
    const refusal = await node.get(job.id).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(LivefxError);
    expect((refusal as LivefxError).code).toBe('queue_unavailable');
    expect((refusal as LivefxError).message).toContain(redis.url);
    await redis.restart();
    release();
    // Finished by its worker (or re-run after its lock lapsed): either way done, with the same result.
    const finished = await settledJob(node, job.id, 45_000);
    expect(finished.status, JSON.stringify(finished)).toBe('done');
    expect(finished.result).toEqual({ n: 5 });
    // The node recovered by itself: new jobs are taken and run.
    const next = await node.enqueue('highlights', { n: 6 });
    expect((await settledJob(node, next.id)).result).toEqual({ n: 6 });
  });
});
