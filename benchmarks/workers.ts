// Jobs through BullMQ workers on this machine (a real redis-server, a node with LIVEFX_WORKERS=external, real
// `livefx worker` processes sharing its data directory):
// 1. the same N preview highlights jobs (one per imported recording, analysis caches removed first, so every
//    job decodes its recording) through 1, 2 and 4 worker processes: jobs per minute, speed-up over 1 worker
//    (the baseline: what one process, like the embedded queue, does), queue wait and run time percentiles;
// 2. `livefx workers --min 1 --max 4 --jobs-per-worker 1`: a backlog of 20 jobs → time until 4 workers run,
//    and time from the last job done back to --min.
// Recordings are BENCH_RECORDING_S long (180 s by default, not the hour: an hour × 20 jobs × 3 runs
// does not fit a shared 2-core machine's budget), 640×360 30 fps without audio (nothing to transcribe).
import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { percentile, writeResult } from './bar-chart.js';
import { adminFetch as fetch, startServer, type RunningServer } from '../test/helpers/livefx-process.js';
import { runFfmpeg } from '../test/helpers/ffmpeg-fixtures.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { childrenOf, startCli, startWorker, type RunningCli } from '../test/helpers/worker-process.js';

const RECORDING_S = Number(process.env.BENCH_RECORDING_S ?? 180);
const JOBS = Number(process.env.BENCH_JOBS ?? 8);
const WORKER_COUNTS = [1, 2, 4];
const BACKLOG = 20;
const IDLE_GRACE_S = 5;
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Chat from many people at three moments, so each job cuts real clips. */
function events(): string {
  const list: { t: number; type: string; user: string; text: string }[] = [];
  for (const peak of [0.2, 0.5, 0.8].map((fraction) => Math.round(fraction * RECORDING_S))) {
    for (let person = 0; person < 12; person++) list.push({ t: peak + person * 0.2, type: 'chat', user: `fan-${peak}-${person}`, text: 'wow' });
  }
  return JSON.stringify({ events: list });
}

async function importRecording(node: RunningServer, file: string, index: number): Promise<string> {
  const form = new FormData();
  form.set('media', new Blob([await readFile(file)], { type: 'video/mp4' }), `show-${index}.mp4`);
  form.set('title', `bench ${index}`);
  form.set('events', events());
  const response = await fetch(`${node.url}/v1/recordings`, { method: 'POST', body: form });
  if (response.status !== 201) throw new Error(`import failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** Removes the highlights analysis cached beside each recording's media, so the next job decodes it again. */
async function dropAnalysisCaches(dataDir: string): Promise<void> {
  const root = path.join(dataDir, 'recordings');
  for (const entry of await readdir(root, { recursive: true })) if (entry.endsWith('.highlights-analysis.json')) await rm(path.join(root, entry), { force: true });
}

async function enqueue(node: RunningServer, recordingId: string, seed: number): Promise<string> {
  const response = await fetch(`${node.url}/v1/video/highlights`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recording_id: recordingId, k: 3, quality: 'preview', seed }) });
  if (response.status !== 202) throw new Error(`enqueue failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** Queue wait and run time of each job from BullMQ's own timestamps, once all are finished. */
async function timings(queue: Queue, ids: string[]): Promise<{ waitS: number[]; runS: number[]; spanS: number }> {
  const jobs = await until('every job finished', async () => {
    const all = await Promise.all(ids.map((id) => queue.getJob(id)));
    if (all.some((job) => job?.failedReason)) throw new Error(`a job failed: ${all.find((job) => job?.failedReason)!.failedReason}`);
    return all.every((job) => job?.finishedOn) ? all.map((job) => job!) : undefined;
  }, 900_000, 250);
  const first = Math.min(...jobs.map((job) => job.timestamp));
  const last = Math.max(...jobs.map((job) => job.finishedOn!));
  return { waitS: jobs.map((job) => (job.processedOn! - job.timestamp) / 1000), runS: jobs.map((job) => (job.finishedOn! - job.processedOn!) / 1000), spanS: (last - first) / 1000 };
}

const summary = (values: number[]): { p50: number; p95: number; max: number } => ({ p50: round(percentile(values, 0.5), 2), p95: round(percentile(values, 0.95), 2), max: round(Math.max(...values), 2) });

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-bench-workers-'));
  const redis = await startRedis();
  const node = await startServer({ LIVEFX_REDIS_URL: redis.url, LIVEFX_WORKERS: 'external', LIVEFX_LOG_LEVEL: 'warn' });
  const queue = new Queue('highlights', { connection: { host: '127.0.0.1', port: redis.port }, prefix: 'livefx' });
  const env = { LIVEFX_REDIS_URL: redis.url, LIVEFX_DATA_DIR: node.dataDir, LIVEFX_LOG_LEVEL: 'info' };
  const started: RunningCli[] = [];
  try {
    const video = path.join(scratch, 'show.mp4');
    await runFfmpeg(['-f', 'lavfi', '-i', `testsrc2=s=640x360:r=30:d=${RECORDING_S}`, '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-an', video]);
    const recordings: string[] = [];
    for (let index = 0; index < JOBS; index++) recordings.push(await importRecording(node, video, index));

    const runs: { workers: number; jobsPerMinute: number; speedUp: number; spanS: number; waitS: ReturnType<typeof summary>; runS: ReturnType<typeof summary> }[] = [];
    let seed = 1;
    for (const workers of WORKER_COUNTS) {
      await dropAnalysisCaches(node.dataDir);
      const pool: RunningCli[] = [];
      for (let index = 0; index < workers; index++) pool.push(await startWorker(env));
      started.push(...pool);
      const ids: string[] = [];
      for (const recordingId of recordings) ids.push(await enqueue(node, recordingId, seed++));
      const { waitS, runS, spanS } = await timings(queue, ids);
      for (const worker of pool) await worker.stop();
      const jobsPerMinute = round((JOBS / spanS) * 60, 2);
      runs.push({ workers, jobsPerMinute, speedUp: runs[0] ? round(jobsPerMinute / runs[0].jobsPerMinute, 2) : 1, spanS: round(spanS, 1), waitS: summary(waitS), runS: summary(runS) });
      console.error(`${workers} worker(s): ${jobsPerMinute} jobs/min over ${round(spanS)} s`);
    }

    // The autoscaler: a backlog of 20 → 4 workers; drained → back to 1.
    await dropAnalysisCaches(node.dataDir);
    const supervisor = startCli(['workers', '--min', '1', '--max', '4', '--jobs-per-worker', '1', '--idle-grace-s', String(IDLE_GRACE_S), '--max-wait-s', '60'], env);
    started.push(supervisor);
    await supervisor.waitForOutput(/worker ready/, 60_000);
    const pid = supervisor.process.pid!;
    const readyCount = (): number => (supervisor.output().match(/worker ready/g) ?? []).length;
    const backlogAt = Date.now();
    const backlogIds: string[] = [];
    for (let index = 0; index < BACKLOG; index++) backlogIds.push(await enqueue(node, recordings[index % recordings.length]!, seed++));
    await until('4 worker processes', async () => ((await childrenOf(pid)).length === 4 ? true : undefined), 120_000, 50);
    const fourStartedS = (Date.now() - backlogAt) / 1000;
    await until('4 workers ready', async () => (readyCount() >= 4 ? true : undefined), 120_000, 50);
    const fourReadyS = (Date.now() - backlogAt) / 1000;
    const backlog = await timings(queue, backlogIds);
    const drainedAt = Date.now();
    await until('back to --min', async () => ((await childrenOf(pid)).length === 1 ? true : undefined), 300_000, 100);
    const backToMinS = (Date.now() - drainedAt) / 1000;
    await supervisor.stop();
    const autoscaler = {
      backlog: BACKLOG,
      untilFourWorkersStartedS: round(fourStartedS, 2),
      untilFourWorkersReadyS: round(fourReadyS, 2),
      backlogDrainedS: round(backlog.spanS, 1),
      lastJobDoneToMinS: round(backToMinS, 2),
      idleGraceS: IDLE_GRACE_S,
      decisions: supervisor
        .output()
        .split('\n')
        .filter((line) => line.includes('"decision"'))
        .map((line) => {
          const entry = JSON.parse(line) as { decision: string; workersNow: number; reason: string };
          return `${entry.decision} → ${entry.workersNow}: ${entry.reason}`;
        }),
    };
    const result = {
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg1mAtEnd: round(loadavg()[0]!, 2) },
      recordingS: RECORDING_S,
      jobs: JOBS,
      job: 'preview highlights (k 3) of a 640×360 30 fps recording without audio, analysis not cached',
      runs,
      autoscaler,
    };
    await writeResult('workers', result, {
      title: `${JOBS} preview highlights jobs (${RECORDING_S} s recordings) through 1, 2, 4 livefx worker processes`,
      unit: 'jobs per minute',
      groups: runs.map((run) => ({ label: `${run.workers} worker${run.workers > 1 ? 's' : ''}`, values: { 'jobs/min': run.jobsPerMinute } })),
    });
  } finally {
    for (const cli of started) await cli.stop('SIGKILL');
    await queue.close();
    await node.stop();
    await redis.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
