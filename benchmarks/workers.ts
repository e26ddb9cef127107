// Jobs through BullMQ workers on this machine (a real redis-server, a node with LIVEFX_WORKERS=external, real
// `livefx worker` processes sharing its data directory):
// 1. the throughput run: BENCH_JOBS (20) preview highlights jobs of one-hour recordings (one per imported
//    recording, analysis caches removed first, so every job analyses its recording) through 1, 2 and 4 worker
//    processes: jobs per minute, speed-up over 1 worker (the baseline: what one process, like the embedded
//    queue, does), queue wait and run time percentiles. The hour is a 60 s clip of 320×180 30 fps (keyframe
//    every second, no audio: nothing to transcribe) looped by stream copy, so it is made in seconds. When the
//    three runs would not fit BENCH_BUDGET_S (estimated from one calibration job), each run takes the same
//    first N recordings, and the result says so and extrapolates the 20-job figures from the measured rate;
// 2. `livefx workers --min 1 --max 4 --jobs-per-worker 1`: a backlog of 20 short jobs (BENCH_AUTOSCALER_RECORDING_S)
//    → time until 4 workers run, and time from the last job done back to --min.
import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { percentile, writeResult } from './bar-chart.js';
import { adminFetch as fetch, startServer, type RunningServer } from '../test/helpers/livefx-process.js';
import { runFfmpeg } from '../test/helpers/ffmpeg-fixtures.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { childrenOf, startCli, startWorker, type RunningCli } from '../test/helpers/worker-process.js';

const RECORDING_S = Number(process.env.BENCH_RECORDING_S ?? 3600);
const JOBS = Number(process.env.BENCH_JOBS ?? 20);
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? 1500);
const AUTOSCALER_RECORDING_S = Number(process.env.BENCH_AUTOSCALER_RECORDING_S ?? 60);
/** Seconds the three runs take for each second one job takes alone (1 + 1/1.4 + 1/1.4: the speed-ups measured on 2 cores before). */
const RUNS_PER_JOB_S = 2.43;
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
function events(recordingS: number): string {
  const list: { t: number; type: string; user: string; text: string }[] = [];
  for (const peak of [0.2, 0.5, 0.8].map((fraction) => Math.round(fraction * recordingS))) {
    for (let person = 0; person < 12; person++) list.push({ t: peak + person * 0.2, type: 'chat', user: `fan-${peak}-${person}`, text: 'wow' });
  }
  return JSON.stringify({ events: list });
}

async function importRecording(node: RunningServer, file: string, index: number, recordingS: number): Promise<string> {
  const form = new FormData();
  form.set('media', new Blob([await readFile(file)], { type: 'video/mp4' }), `show-${index}.mp4`);
  form.set('title', `bench ${index}`);
  form.set('events', events(recordingS));
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

/** A recording of `seconds`: a 60 s 320×180 clip (keyframe every second, no audio) looped by stream copy. */
async function syntheticRecording(scratch: string, seconds: number): Promise<string> {
  const clipS = Math.min(60, seconds);
  const clip = path.join(scratch, `clip-${clipS}.mp4`);
  await runFfmpeg(['-f', 'lavfi', '-i', `testsrc2=s=320x180:r=30:d=${clipS}`, '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-an', clip]);
  const file = path.join(scratch, `show-${seconds}.mp4`);
  await runFfmpeg(['-stream_loop', String(Math.ceil(seconds / clipS) - 1), '-i', clip, '-t', String(seconds), '-c', 'copy', file]);
  return file;
}

type Summary = ReturnType<typeof summary>;
interface Run {
  workers: number;
  jobs: number;
  jobsPerMinute: number;
  speedUp: number;
  spanS: number;
  waitS: Summary;
  runS: Summary;
  /** Minutes all BENCH_JOBS jobs would take at the measured rate (only when fewer were run). */
  extrapolatedMinutesForAllJobs?: number;
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-bench-workers-'));
  const redis = await startRedis();
  const node = await startServer({ LIVEFX_REDIS_URL: redis.url, LIVEFX_WORKERS: 'external', LIVEFX_LOG_LEVEL: 'warn' });
  const queue = new Queue('highlights', { connection: { host: '127.0.0.1', port: redis.port }, prefix: 'livefx' });
  const env = { LIVEFX_REDIS_URL: redis.url, LIVEFX_DATA_DIR: node.dataDir, LIVEFX_LOG_LEVEL: 'info' };
  const started: RunningCli[] = [];
  const load: number[] = [loadavg()[0]!];
  const note = (line: string): void => console.error(`${line} (load ${round(loadavg()[0]!, 1)})`);
  try {
    const hour = await syntheticRecording(scratch, RECORDING_S);
    const recordings: string[] = [];
    for (let index = 0; index < JOBS; index++) recordings.push(await importRecording(node, hour, index, RECORDING_S));
    await rm(hour, { force: true });
    note(`${JOBS} recordings of ${RECORDING_S} s imported`);
    let seed = 1;

    // Calibration: one job alone on one worker says how long the three runs would take.
    await dropAnalysisCaches(node.dataDir);
    const calibrationWorker = await startWorker(env);
    started.push(calibrationWorker);
    const calibration = await timings(queue, [await enqueue(node, recordings[0]!, seed++)]);
    await calibrationWorker.stop();
    const oneJobS = calibration.runS[0]!;
    const estimateS = RUNS_PER_JOB_S * JOBS * oneJobS;
    const jobsPerRun = estimateS <= BUDGET_S ? JOBS : Math.min(JOBS, Math.max(4, Math.floor(BUDGET_S / (RUNS_PER_JOB_S * oneJobS))));
    note(`one job alone: ${round(oneJobS, 1)} s; ${JOBS} jobs × 3 runs ≈ ${round(estimateS / 60)} min against a budget of ${round(BUDGET_S / 60)} min → ${jobsPerRun} jobs per run`);
    load.push(loadavg()[0]!);

    const runs: Run[] = [];
    for (const workers of WORKER_COUNTS) {
      await dropAnalysisCaches(node.dataDir);
      const pool: RunningCli[] = [];
      for (let index = 0; index < workers; index++) pool.push(await startWorker(env));
      started.push(...pool);
      const ids: string[] = [];
      for (const recordingId of recordings.slice(0, jobsPerRun)) ids.push(await enqueue(node, recordingId, seed++));
      const { waitS, runS, spanS } = await timings(queue, ids);
      for (const worker of pool) await worker.stop();
      const jobsPerMinute = round((jobsPerRun / spanS) * 60, 2);
      runs.push({
        workers,
        jobs: jobsPerRun,
        jobsPerMinute,
        speedUp: runs[0] ? round(jobsPerMinute / runs[0].jobsPerMinute, 2) : 1,
        spanS: round(spanS, 1),
        waitS: summary(waitS),
        runS: summary(runS),
        ...(jobsPerRun < JOBS ? { extrapolatedMinutesForAllJobs: round(JOBS / jobsPerMinute, 1) } : {}),
      });
      load.push(loadavg()[0]!);
      note(`${workers} worker(s): ${jobsPerRun} jobs, ${jobsPerMinute} jobs/min over ${round(spanS)} s`);
    }

    // The autoscaler reacts to a backlog, whatever its jobs: short ones keep the run short.
    const short = await syntheticRecording(scratch, AUTOSCALER_RECORDING_S);
    const shortRecordings: string[] = [];
    for (let index = 0; index < 4; index++) shortRecordings.push(await importRecording(node, short, JOBS + index, AUTOSCALER_RECORDING_S));
    const supervisor = startCli(['workers', '--min', '1', '--max', '4', '--jobs-per-worker', '1', '--idle-grace-s', String(IDLE_GRACE_S), '--max-wait-s', '60'], env);
    started.push(supervisor);
    await supervisor.waitForOutput(/worker ready/, 60_000);
    const pid = supervisor.process.pid!;
    const readyCount = (): number => (supervisor.output().match(/worker ready/g) ?? []).length;
    const backlogAt = Date.now();
    const backlogIds: string[] = [];
    for (let index = 0; index < BACKLOG; index++) backlogIds.push(await enqueue(node, shortRecordings[index % shortRecordings.length]!, seed++));
    await until('4 worker processes', async () => ((await childrenOf(pid)).length === 4 ? true : undefined), 120_000, 50);
    const fourStartedS = (Date.now() - backlogAt) / 1000;
    await until('4 workers ready', async () => (readyCount() >= 4 ? true : undefined), 120_000, 50);
    const fourReadyS = (Date.now() - backlogAt) / 1000;
    const backlog = await timings(queue, backlogIds);
    const drainedAt = Date.now();
    await until('back to --min', async () => ((await childrenOf(pid)).length === 1 ? true : undefined), 300_000, 100);
    const backToMinS = (Date.now() - drainedAt) / 1000;
    await supervisor.stop();
    load.push(loadavg()[0]!);
    const autoscaler = {
      backlog: BACKLOG,
      recordingS: AUTOSCALER_RECORDING_S,
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
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg1m: { min: round(Math.min(...load), 2), max: round(Math.max(...load), 2), samples: load.map((value) => round(value, 1)) } },
      recordingS: RECORDING_S,
      jobs: JOBS,
      job: 'preview highlights (k 3) of a 320×180 30 fps recording without audio, analysis not cached',
      calibration: { oneJobAloneS: round(oneJobS, 2), estimatedAllRunsMinutes: round(estimateS / 60, 1), budgetMinutes: round(BUDGET_S / 60, 1), jobsPerRun },
      ran: jobsPerRun === JOBS ? `all ${JOBS} jobs in each run` : `${jobsPerRun} of the ${JOBS} jobs in each run (the same first ${jobsPerRun} recordings): ${JOBS} would not fit the budget; extrapolatedMinutesForAllJobs = ${JOBS} ÷ the measured jobs per minute`,
      runs,
      autoscaler,
    };
    await writeResult('workers', result, {
      title: `Preview highlights jobs of ${round(RECORDING_S / 3600, 2)} h recordings (${jobsPerRun} per run) through 1, 2, 4 livefx worker processes`,
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
