import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { highlightShowEvents, SHOW_S } from './helpers/highlight-fixture.js';
import { ADMIN_TOKEN, adminFetch as fetch, projectRoot, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { startRedis, type RunningRedis } from './helpers/redis-server.js';
import { startWorker, type RunningCli } from './helpers/worker-process.js';

// Nodes and `livefx worker` processes as users run them, on a real Redis; the worker shares the node's data directory.
let redis: RunningRedis;
let scratch: string;
let video: string;
let node: RunningServer;
const running: RunningCli[] = [];
/** Short locks so a killed worker's job moves on within seconds (the default is 6 s). */
const LOCK_S = '3';

interface JobView {
  id: string;
  status: string;
  stage: string;
  error?: string | null;
  result?: { clips: { start: number; end: number; score: number; file: string }[] } | null;
}

async function api(server: RunningServer, method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${route}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function importVideo(server: RunningServer, title: string): Promise<string> {
  const form = new FormData();
  form.set('media', new Blob([await readFile(video)], { type: 'video/mp4' }), 'show.mp4');
  form.set('title', title);
  // Chat and reactions from many people at two peaks: the moments the highlights pick.
  form.set('events', JSON.stringify(highlightShowEvents()));
  const response = await fetch(`${server.url}/v1/recordings`, { method: 'POST', body: form });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

const finished = (server: RunningServer, id: string, timeoutMs = 90_000): Promise<JobView> =>
  waitFor(`highlights job ${id} to finish`, async () => {
    const job = (await api(server, 'GET', `/v1/video/highlights/${id}`)).body as JobView;
    return ['done', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
  }, timeoutMs, 200);

const workerEnv = (): Record<string, string> => ({ LIVEFX_REDIS_URL: redis.url, LIVEFX_DATA_DIR: node.dataDir, LIVEFX_JOB_LOCK_S: LOCK_S });

/** Clips without their job-specific file names: what "the same result" compares. */
const clipsOf = (job: JobView): { start: number; end: number; score: number }[] => (job.result?.clips ?? []).map(({ start, end, score }) => ({ start, end, score }));

beforeAll(async () => {
  redis = await startRedis();
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-workers-'));
  video = path.join(scratch, 'show.mp4');
  // The fixture show's length with changing pictures and a tone: highlights analysis takes a few seconds per job.
  const half = SHOW_S / 2;
  await runFfmpeg(['-f', 'lavfi', '-i', `testsrc2=s=320x180:r=15:d=${half}`, '-f', 'lavfi', '-i', `smptebars=s=320x180:r=15:d=${half}`, '-f', 'lavfi', '-i', `sine=f=300:d=${SHOW_S}`, '-filter_complex', '[0][1]concat=n=2:v=1:a=0[v]', '-map', '[v]', '-map', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-c:a', 'aac', '-shortest', video]);
  node = await startServer({ LIVEFX_REDIS_URL: redis.url, LIVEFX_WORKERS: 'external', LIVEFX_JOB_LOCK_S: LOCK_S });
}, 90_000);

afterAll(async () => {
  for (const worker of running) await worker.stop('SIGKILL');
  const code = await node?.stop();
  await redis?.close();
  await rm(scratch, { recursive: true, force: true });
  expect(code, node?.output()).toBe(0);
});

describe('jobs on BullMQ with external workers', () => {
  let reference: JobView;

  it('a node with LIVEFX_WORKERS=external only enqueues: the job waits (and /metrics says so) until a `livefx worker` runs it; the node serves the result', async () => {
    const recordingId = await importVideo(node, 'first');
    const posted = await api(node, 'POST', '/v1/video/highlights', { recording_id: recordingId, k: 3 });
    expect(posted.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await api(node, 'GET', `/v1/video/highlights/${posted.body.id}`)).body.status).toBe('queued');
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/^livefx_jobs_waiting\{queue="highlights"\} 1$/m);
    expect(Number(/^livefx_jobs_oldest_waiting_seconds\{queue="highlights"\} (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^livefx_jobs_deadline_seconds\{queue="highlights"\} \d/m);
    expect(metrics).toMatch(/^livefx_jobs_queue_up 1$/m);

    // The same Idempotency-Key twice at once: one job.
    const keyed = await Promise.all(
      [1, 2].map(async () => {
        const response = await fetch(`${node.url}/v1/video/highlights`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `first-${recordingId}` }, body: JSON.stringify({ recording_id: recordingId, k: 3 }) });
        return ((await response.json()) as { id: string }).id;
      }),
    );
    expect(keyed).toEqual([`first-${recordingId}`, `first-${recordingId}`]);
    expect((await api(node, 'GET', '/v1/video/highlights')).body.jobs.filter((job: JobView) => job.id === keyed[0])).toHaveLength(1);
    const badKey = await fetch(`${node.url}/v1/video/highlights`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': '../x' }, body: JSON.stringify({ recording_id: recordingId }) });
    expect(badKey.status).toBe(400);
    expect(((await badKey.json()) as { error: { message: string } }).error.message).toMatch(/Idempotency-Key must be/);

    running.push(await startWorker(workerEnv()));
    reference = await finished(node, posted.body.id);
    expect(reference.status, JSON.stringify(reference)).toBe('done');
    expect((await finished(node, keyed[0]!)).status).toBe('done');
    expect(reference.result!.clips.length).toBeGreaterThan(0);
    const file = await fetch(`${node.url}${reference.result!.clips[0]!.file}`);
    expect(file.status).toBe(200);
    expect((await file.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it('a worker killed with kill -9 mid-job: another worker runs the job again, with the same result', async () => {
    for (const worker of running.splice(0)) await worker.stop();
    const recordingId = await importVideo(node, 'second');
    const first = await startWorker(workerEnv());
    running.push(first);
    const posted = await api(node, 'POST', '/v1/video/highlights', { recording_id: recordingId, k: 3 });
    await waitFor('the job running on the first worker', async () => (await api(node, 'GET', `/v1/video/highlights/${posted.body.id}`)).body.status === 'running', 30_000);
    first.process.kill('SIGKILL');
    const second = await startWorker(workerEnv());
    running.push(second);
    const job = await finished(node, posted.body.id);
    expect(job.status, JSON.stringify(job)).toBe('done');
    expect(clipsOf(job)).toEqual(clipsOf(reference));
    // The lock lapsed after LIVEFX_JOB_LOCK_S and the stalled check handed the job to the second worker (the first is gone).
    expect(first.process.exitCode ?? first.process.signalCode).toBe('SIGKILL');
  });

  it('params no handler can read, written into the queues by another producer: each job fails once naming the field; the worker stays up and runs the next job', async () => {
    if (running.length === 0) running.push(await startWorker(workerEnv()));
    const worker = running.at(-1)!;
    const connection = { host: '127.0.0.1', port: redis.port };
    const raw = { highlights: new Queue('highlights', { connection, prefix: 'livefx' }), render: new Queue('render', { connection, prefix: 'livefx' }) };
    try {
      // livefx's envelope, with params of the wrong shape (attempts 5: a retry would show).
      await raw.highlights.add('highlights', { kind: 'highlights', params: { recording_id: 42 } }, { jobId: 'bad-highlights', attempts: 5 });
      await raw.render.add('render', { kind: 'render', params: { storyboard: 'none', quality: 'preview', seed: 1, caller: { role: 'admin' } } }, { jobId: 'bad-render', attempts: 5 });
      const highlights = await finished(node, 'bad-highlights');
      expect(highlights.status).toBe('failed');
      expect(highlights.error).toMatch(/malformed job payload in queue "highlights": params\.recording_id/);
      const render = await waitFor('the malformed render to fail', async () => {
        const view = (await api(node, 'GET', '/v1/video/renders/bad-render')).body;
        return view?.status === 'failed' ? view : undefined;
      }, 60_000, 200);
      expect(JSON.stringify(render)).toMatch(/malformed job payload in queue \\"render\\": params\.storyboard/);
      expect((await raw.highlights.getJob('bad-highlights'))!.attemptsMade).toBe(1);
      expect((await raw.render.getJob('bad-render'))!.attemptsMade).toBe(1);
      // No crash loop: the same worker process is up and runs a real job.
      expect(worker.process.exitCode).toBeNull();
      const recordingId = await importVideo(node, 'after the malformed ones');
      const posted = await api(node, 'POST', '/v1/video/highlights', { recording_id: recordingId, k: 1 });
      expect((await finished(node, posted.body.id)).status).toBe('done');
      expect(worker.process.exitCode).toBeNull();
    } finally {
      await Promise.all([raw.highlights.close(), raw.render.close()]);
    }
  });

  it('Redis lost while running: streams keep working, job calls answer 503 queue_unavailable, and the node recovers by itself', async () => {
    await redis.stop();
    const jobs = await api(node, 'GET', '/v1/video/highlights');
    expect(jobs.status).toBe(503);
    expect(jobs.body.error.code).toBe('queue_unavailable');
    expect(jobs.body.error.message).toContain(redis.url);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    const stream = await api(node, 'POST', '/v1/streams', { title: 'live without redis' });
    expect(stream.status).toBe(201);
    expect(await (await fetch(`${node.url}/metrics`)).text()).toMatch(/^livefx_jobs_queue_up 0$/m);
    await redis.restart();
    await waitFor('the job API answering again', async () => (await api(node, 'GET', '/v1/video/highlights')).status === 200, 30_000, 250);
    await api(node, 'DELETE', `/v1/streams/${stream.body.id}`);
  });
});

describe('where jobs run', () => {
  it('a node with LIVEFX_REDIS_URL and the default LIVEFX_WORKERS=embedded runs jobs itself', async () => {
    // No worker on the other node's data directory may take this node's job.
    for (const worker of running.splice(0)) await worker.stop();
    const embedded = await startServer({ LIVEFX_REDIS_URL: redis.url });
    try {
      const recordingId = await importVideo(embedded, 'embedded');
      const posted = await api(embedded, 'POST', '/v1/video/highlights', { recording_id: recordingId, k: 2 });
      const job = await finished(embedded, posted.body.id);
      expect(job.status, JSON.stringify(job)).toBe('done');
    } finally {
      expect(await embedded.stop()).toBe(0);
    }
  });

  it('Redis unreachable at start: the node exits with an error naming the URL', async () => {
    const url = `redis://127.0.0.1:${redis.port + 1}`;
    const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'server', 'main.js')], {
      env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: path.join(scratch, 'unreachable'), LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_REDIS_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`livefx: could not start: cannot reach Redis at ${url} (LIVEFX_REDIS_URL)`);
  });
});
