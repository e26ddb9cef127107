// CPU and memory of one processed 1280x720 30 fps stream (identity chain), against ffmpeg doing the
// same decode + libx264 encode of the same input on its own, in the same run.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WhipClient } from '../test/helpers/whip-client.js';
import { writeResult } from './bar-chart.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch } from '../test/helpers/livefx-process.js';
import { coreShare, sampleTree } from './process-usage.js';

const WARMUP_MS = Number(process.env.COST_WARMUP_MS ?? 8000);
const MEASURE_S = Number(process.env.COST_MEASURE_S ?? 30);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureLivefx(): Promise<Record<string, number>> {
  const server = await startServer({ LIVEFX_BURN_IN: 'false', LIVEFX_LOG_LEVEL: 'warn' });
  const pid = server.process.pid!;
  const idle = await sampleTree(pid);
  const stream = await createStream(server.url, 'cost benchmark');
  const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1280, height: 720, fps: 30, kbps: 2500 });
  await publisher.start();
  await waitFor('encoding', async () => ((await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsOut: number } }).stats.fpsOut > 0 || undefined, 20_000);
  await sleep(WARMUP_MS);
  const before = await sampleTree(pid);
  await sleep(MEASURE_S * 1000);
  const after = await sampleTree(pid);
  const view = (await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsIn: number; fpsOut: number; framesDropped: number; stageMs: Record<string, number> } };
  await publisher.stop();
  await server.stop();
  return {
    serverCorePercent: 100 * coreShare(before.self, after.self, MEASURE_S),
    ffmpegCorePercent: 100 * coreShare(before.children, after.children, MEASURE_S),
    totalCorePercent: 100 * (coreShare(before.self, after.self, MEASURE_S) + coreShare(before.children, after.children, MEASURE_S)),
    serverRssMb: after.self.rssBytes / 2 ** 20,
    serverIdleRssMb: idle.self.rssBytes / 2 ** 20,
    ffmpegRssMb: after.children.rssBytes / 2 ** 20,
    ffmpegProcesses: after.childCount,
    fpsIn: view.stats.fpsIn,
    fpsOut: view.stats.fpsOut,
    framesDropped: view.stats.framesDropped,
    decodeMs: view.stats.stageMs.decode!,
    transformsMs: view.stats.stageMs.transforms!,
    encodeMs: view.stats.stageMs.encode!,
  };
}

/** The floor: one ffmpeg decoding the same kind of input in real time and encoding it with the same x264 settings. */
async function measureFfmpegBaseline(): Promise<Record<string, number>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'livefx-cost-'));
  const input = path.join(dir, 'input.mp4');
  const seconds = MEASURE_S + WARMUP_MS / 1000 + 5;
  await new Promise<void>((resolve, reject) => {
    const make = spawn('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-b:v', '2500k', '-g', '30', input]);
    make.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`input generation failed: ${code}`))));
  });
  const ffmpeg = spawn('ffmpeg', ['-loglevel', 'error', '-re', '-threads', '1', '-i', input, '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-threads', '1', '-b:v', '2500k', '-f', 'null', '-']);
  await sleep(WARMUP_MS);
  const { sampleTree: sample } = await import('./process-usage.js');
  const before = await sample(ffmpeg.pid!);
  await sleep(MEASURE_S * 1000);
  const after = await sample(ffmpeg.pid!);
  ffmpeg.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
  return { totalCorePercent: 100 * coreShare(before.self, after.self, MEASURE_S), rssMb: after.self.rssBytes / 2 ** 20 };
}

const round = (value: number) => Math.round(value * 10) / 10;
const livefx = await measureLivefx();
const baseline = await measureFfmpegBaseline();
const result = {
  benchmark: 'cost of one processed stream',
  date: new Date().toISOString(),
  input: 'H.264 1280x720 30 fps 2.5 Mbit/s over WHIP (werift publisher), identity chain, output libx264 ultrafast zerolatency 2.5 Mbit/s',
  measureSeconds: MEASURE_S,
  livefx: Object.fromEntries(Object.entries(livefx).map(([key, value]) => [key, round(value)])),
  ffmpegDecodeEncodeBaseline: Object.fromEntries(Object.entries(baseline).map(([key, value]) => [key, round(value)])),
};
await writeResult('stream-cost', result, {
  title: 'One processed 720p30 stream: CPU (% of one core) and RSS',
  unit: '% of a core / MiB',
  groups: [
    { label: 'livefx (server + ffmpeg)', values: { 'CPU %': livefx.totalCorePercent!, 'RSS MiB': livefx.serverRssMb! + livefx.ffmpegRssMb! } },
    { label: 'ffmpeg decode+encode alone', values: { 'CPU %': baseline.totalCorePercent!, 'RSS MiB': baseline.rssMb! } },
  ],
});
