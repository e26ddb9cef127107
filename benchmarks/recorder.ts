// What recording costs and how it behaves at scale, in one run:
// 1. overhead of recording one 720p30 stream (CPU of the server and its children, disk MB/min), "record": false vs default;
// 2. recovery after kill -9 of a server that recorded about 2 stream-minutes, and of a crashed 1-hour recording;
// 3. export of a 1-hour recording (900 × 4 s segments, generated) to one MP4, against a plain `ffmpeg -f concat -c copy`.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import { RecordingManifest } from '../recorder/recording-manifest.js';
import { segmentFileName } from '../recorder/segment-writer.js';
import { WhipClient } from '../test/helpers/whip-client.js';
import { writeResult } from './bar-chart.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { startServer, waitFor, type RunningServer, adminFetch as fetch } from '../test/helpers/livefx-process.js';
import { coreShare, sampleTree } from './process-usage.js';

const WARMUP_MS = Number(process.env.RECORDER_WARMUP_MS ?? 5000);
const MEASURE_S = Number(process.env.RECORDER_MEASURE_S ?? 20);
const CRASH_RECORDED_S = Number(process.env.RECORDER_CRASH_RECORDED_S ?? 120);
const EXPORT_SEGMENTS = Number(process.env.RECORDER_EXPORT_SEGMENTS ?? 900);
const SEGMENT_S = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const temporaryDirs: string[] = [];

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const file = path.join(dir, entry.name);
    total += entry.isDirectory() ? await folderBytes(file) : (await stat(file)).size;
  }
  return total;
}

async function json<T>(response: Response): Promise<T> {
  if (!response.ok) throw new Error(`${response.url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

async function createStream(server: RunningServer, title: string, record: boolean): Promise<{ id: string; streamKey: string }> {
  return json(await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title, record }) }));
}

async function publish(server: RunningServer, stream: { id: string; streamKey: string }): Promise<WhipClient> {
  const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1280, height: 720, fps: 30, kbps: 2500 });
  await publisher.start();
  await waitFor('encoding', async () => (await json<{ stats: { fpsOut: number } }>(await fetch(`${server.url}/v1/streams/${stream.id}`))).stats.fpsOut > 0 || undefined, 20_000);
  return publisher;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`))));
  });
}

/** Starts a server on `dataDir` and times start-up: to /healthz answering, and to the recovery log line when there is one. */
async function timedStart(dataDir: string): Promise<{ server: RunningServer; healthzMs: number; recoveryLogMs: number | null; recovered: number }> {
  const spawnedAt = Date.now();
  const server = await startServer({ LIVEFX_DATA_DIR: dataDir, LIVEFX_BURN_IN: 'false', LIVEFX_LOG_LEVEL: 'info' });
  const healthzMs = Date.now() - spawnedAt;
  temporaryDirs.push(server.dataDir);
  const lines = server
    .output()
    .split('\n')
    .filter((line) => line.includes('recording recovered after an unclean shutdown'))
    .map((line) => JSON.parse(line) as { time: number });
  const recoveryLogMs = lines.length > 0 ? Math.max(...lines.map((line) => line.time)) - spawnedAt : null;
  return { server, healthzMs, recoveryLogMs, recovered: lines.length };
}

function kill9(server: RunningServer): Promise<void> {
  return new Promise((resolve) => {
    server.process.once('exit', () => resolve());
    server.process.kill('SIGKILL');
  });
}

/** One 720p30 stream measured twice on one server: created with "record": false, then recorded. */
async function measureOverhead(server: RunningServer, recordingsDir: string): Promise<Record<'notRecorded' | 'recorded', Record<string, number>>> {
  const pid = server.process.pid!;
  const measure = async (record: boolean): Promise<Record<string, number>> => {
    const stream = await createStream(server, record ? 'recorded' : 'not recorded', record);
    const publisher = await publish(server, stream);
    await sleep(WARMUP_MS);
    const before = await sampleTree(pid);
    const bytesBefore = await folderBytes(recordingsDir);
    await sleep(MEASURE_S * 1000);
    const after = await sampleTree(pid);
    const bytesAfter = await folderBytes(recordingsDir);
    const view = await json<{ stats: { fpsIn: number; fpsOut: number } }>(await fetch(`${server.url}/v1/streams/${stream.id}`));
    await publisher.stop();
    await fetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE' });
    return {
      serverCorePercent: 100 * coreShare(before.self, after.self, MEASURE_S),
      childrenCorePercent: 100 * coreShare(before.children, after.children, MEASURE_S),
      totalCorePercent: 100 * (coreShare(before.self, after.self, MEASURE_S) + coreShare(before.children, after.children, MEASURE_S)),
      diskMbPerMinute: ((bytesAfter - bytesBefore) / 1e6) * (60 / MEASURE_S),
      fpsIn: view.stats.fpsIn,
      fpsOut: view.stats.fpsOut,
    };
  };
  const notRecorded = await measure(false);
  const recorded = await measure(true);
  return { notRecorded, recorded };
}

/** Two 720p streams recorded in parallel until about CRASH_RECORDED_S stream-seconds are on disk, then kill -9 and a timed restart. */
async function measureCrashRecovery(): Promise<Record<string, number>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-bench-crash-'));
  temporaryDirs.push(dataDir);
  const first = await startServer({ LIVEFX_DATA_DIR: dataDir, LIVEFX_BURN_IN: 'false', LIVEFX_LOG_LEVEL: 'warn' });
  temporaryDirs.push(first.dataDir);
  const streams = await Promise.all([createStream(first, 'crash a', true), createStream(first, 'crash b', true)]);
  const publishers = await Promise.all(streams.map((stream) => publish(first, stream)));
  await sleep((CRASH_RECORDED_S / streams.length) * 1000);
  const mediaBytes = await folderBytes(path.join(dataDir, 'recordings'));
  await kill9(first);
  await Promise.all(publishers.map((publisher) => publisher.vanish()));
  const restart = await timedStart(dataDir);
  const recordings = (await json<{ recordings: { state: string; durationS: number }[] }>(await fetch(`${restart.server.url}/v1/recordings`))).recordings;
  await restart.server.stop();
  if (restart.recoveryLogMs === null || recordings.some((recording) => recording.state !== 'recovered')) throw new Error(`crash recovery did not happen:\n${restart.server.output()}`);
  return {
    recordedStreamSeconds: recordings.reduce((sum, recording) => sum + recording.durationS, 0),
    recordedMb: mediaBytes / 1e6,
    startToHealthzMs: restart.healthzMs,
    startToRecoveryLogMs: restart.recoveryLogMs,
  };
}

/**
 * A 1-hour recording as the recorder leaves it, made quickly: one 4 s Matroska segment (640x360 30 fps
 * H.264 at 1 Mbit/s + Opus, 2 s keyframes) copied 900 times into `original/`, with its catalog rows and manifest.
 */
async function makeHourRecording(dataDir: string): Promise<{ id: string; dir: string; mediaBytes: number }> {
  // A server run creates livefx.db with every migration applied.
  const bootstrap = await startServer({ LIVEFX_DATA_DIR: dataDir, LIVEFX_LOG_LEVEL: 'warn' });
  temporaryDirs.push(bootstrap.dataDir);
  await bootstrap.stop();
  const id = 'beef00000000f00d';
  const dir = path.join(dataDir, 'recordings', id);
  await mkdir(path.join(dir, 'original'), { recursive: true });
  const sample = path.join(dataDir, 'sample.mkv');
  await run('ffmpeg', [
    '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${SEGMENT_S}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SEGMENT_S}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-b:v', '1000k', '-g', '60', '-pix_fmt', 'yuv420p',
    '-c:a', 'libopus', '-b:a', '64k', '-ac', '2', sample,
  ]);
  const bytes = (await stat(sample)).size;
  const db = new BetterSqlite3(path.join(dataDir, 'livefx.db'));
  const catalog = new SqliteRecordingCatalog({ db });
  const startedAt = new Date(Date.now() - EXPORT_SEGMENTS * SEGMENT_S * 1000).toISOString();
  const row = await catalog.create({ id, streamId: null, title: 'one hour (generated)', state: 'recording', startedAt, endedAt: null, durationS: 0 });
  for (let index = 0; index < EXPORT_SEGMENTS; index++) {
    const file = segmentFileName('original', index);
    await copyFile(sample, path.join(dir, file));
    // The segment in progress at a crash is not in the catalog yet: recovery must find it.
    if (index < EXPORT_SEGMENTS - 1) await catalog.addSegment({ recordingId: id, kind: 'original', index, file, startS: index * SEGMENT_S, durationS: SEGMENT_S, bytes });
  }
  // One hour of a busy chat: 10 messages a second, in events.jsonl but (as after a crash) not all in the catalog.
  const lines: string[] = [];
  const events = [];
  for (let seq = 1; seq <= EXPORT_SEGMENTS * SEGMENT_S * 10; seq++) {
    const event = { seq, t: (seq - 1) / 10, type: 'chat', payload: { id: `m${seq}`, user: `viewer${seq % 50}`, text: `message number ${seq}` } };
    lines.push(JSON.stringify(event));
    if (seq % 2 === 0) events.push(event);
  }
  await catalog.insertEvents(id, events);
  await writeFile(path.join(dir, 'events.jsonl'), `${lines.join('\n')}\n`);
  RecordingManifest.write(dir, row, { originalCodec: 'H264', hasAudio: true, segmentS: SEGMENT_S });
  db.close();
  await rm(sample);
  return { id, dir, mediaBytes: bytes * EXPORT_SEGMENTS };
}

/** Recovery of the crashed 1-hour recording, then its export over HTTP, then the plain ffmpeg concat of the same files. */
async function measureHourRecording(): Promise<{ recovery: Record<string, number>; export: Record<string, number>; ffmpegConcat: Record<string, number> }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-bench-hour-'));
  temporaryDirs.push(dataDir);
  const made = await makeHourRecording(dataDir);
  const restart = await timedStart(dataDir);
  const { server } = restart;
  const recording = await json<{ state: string; durationS: number; counts: { chat: number } }>(await fetch(`${server.url}/v1/recordings/${made.id}`));
  if (restart.recoveryLogMs === null || recording.state !== 'recovered') throw new Error(`the 1-hour recording was not recovered:\n${server.output()}`);

  const requestedAt = performance.now();
  const response = await fetch(`${server.url}/v1/recordings/${made.id}/media/original`);
  const firstByteMs = performance.now() - requestedAt;
  if (response.status !== 200) throw new Error(`export answered ${response.status}: ${await response.text()}`);
  const downloaded = (await response.arrayBuffer()).byteLength;
  const downloadedMs = performance.now() - requestedAt;
  const exported = path.join(made.dir, 'original.mp4');
  const exportedDurationS = await probeDuration(exported);
  await server.stop();

  const list = path.join(dataDir, 'plain.ffconcat');
  await writeFile(list, `${Array.from({ length: EXPORT_SEGMENTS }, (_unused, index) => `file '${path.join(made.dir, segmentFileName('original', index))}'`).join('\n')}\n`);
  const plain = path.join(dataDir, 'plain.mp4');
  const concatStarted = performance.now();
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy', plain]);
  const concatMs = performance.now() - concatStarted;
  const plainDurationS = await probeDuration(plain);
  return {
    recovery: { recordingS: recording.durationS, chatEvents: recording.counts.chat, startToHealthzMs: restart.healthzMs, startToRecoveryLogMs: restart.recoveryLogMs },
    export: { segments: EXPORT_SEGMENTS, mediaMb: made.mediaBytes / 1e6, exportedMb: downloaded / 1e6, exportedDurationS, requestToFirstByteMs: firstByteMs, requestToDownloadedMs: downloadedMs },
    ffmpegConcat: { concatMs, outputDurationS: plainDurationS },
  };
}

function probeDuration(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`ffprobe ${file} exited with ${code}`))));
  });
}

const roundAll = (values: Record<string, number>) => Object.fromEntries(Object.entries(values).map(([key, value]) => [key, round(value)]));
const loadBefore = loadavg();
try {
  const cleanDir = await mkdtemp(path.join(tmpdir(), 'livefx-bench-clean-'));
  temporaryDirs.push(cleanDir);
  const cleanStart = await timedStart(cleanDir);
  const overhead = await measureOverhead(cleanStart.server, path.join(cleanDir, 'recordings'));
  await cleanStart.server.stop();
  const crash = await measureCrashRecovery();
  const hour = await measureHourRecording();
  const result = {
    benchmark: 'recorder: overhead, crash recovery, export',
    date: new Date().toISOString(),
    loadAverage1m: { before: round(loadBefore[0]!, 2), after: round(loadavg()[0]!, 2) },
    overhead: {
      input: 'H.264 1280x720 30 fps 2.5 Mbit/s over WHIP (werift publisher), identity chain, burn-in off; server process and its child processes',
      measureSeconds: MEASURE_S,
      notRecorded: roundAll(overhead.notRecorded),
      recorded: roundAll(overhead.recorded),
      recordingCorePercent: round(overhead.recorded.totalCorePercent! - overhead.notRecorded.totalCorePercent!),
    },
    crashRecovery: {
      input: 'two 720p30 streams recorded in parallel, then kill -9; start-up of a server with nothing to recover for comparison',
      cleanStartToHealthzMs: cleanStart.healthzMs,
      ...roundAll(crash),
    },
    hourRecording: {
      input: `${EXPORT_SEGMENTS} × ${SEGMENT_S} s Matroska segments, 640x360 30 fps H.264 1 Mbit/s + Opus 64 kbit/s; left as a crash leaves it (last segment not in the catalog, half the chat events only in events.jsonl)`,
      recovery: roundAll(hour.recovery),
      export: roundAll(hour.export),
      plainFfmpegConcatCopy: roundAll(hour.ffmpegConcat),
    },
  };
  await writeResult('recorder', result, {
    title: 'Recorder: 1-hour export vs ffmpeg concat, and crash recovery (seconds)',
    unit: 's',
    groups: [
      { label: 'export 1 h to MP4 (baseline: ffmpeg concat -c copy)', values: { livefx: hour.export.requestToFirstByteMs! / 1000, baseline: hour.ffmpegConcat.concatMs! / 1000 } },
      { label: 'restart after kill -9, 2 stream-min (baseline: clean start)', values: { livefx: crash.startToHealthzMs! / 1000, baseline: cleanStart.healthzMs / 1000 } },
      { label: 'restart with a crashed 1 h recording (baseline: clean start)', values: { livefx: hour.recovery.startToHealthzMs! / 1000, baseline: cleanStart.healthzMs / 1000 } },
    ],
  });
} finally {
  for (const dir of temporaryDirs) if (dir) await rm(dir, { recursive: true, force: true });
}
