// Two processed 1280x720 30 fps streams on this machine at once, first with an empty chain, then with
// issue 4's full chain (color + lut3d tetrahedral + text + image + label): frames dropped, output
// frame rate, and the latency a viewer sees from server receipt to the processed frame's arrival
// (burn-in code), so the difference between the two runs is what the chain adds.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WhepClient } from '../test/helpers/whep-client.js';
import { WhipClient } from '../test/helpers/whip-client.js';
import { captureMsDelta } from '../transforms/burn-in-layout.js';
import { gradeCube, writeLogo } from './bench-assets.js';
import { percentile, writeResult } from './bar-chart.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch } from '../test/helpers/livefx-process.js';
import { coreShare, sampleTree } from './process-usage.js';

const STREAMS = 2;
const WARMUP_MS = Number(process.env.TWO_STREAMS_WARMUP_MS ?? 8000);
const MEASURE_S = Number(process.env.TWO_STREAMS_MEASURE_S ?? 30);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const FULL_CHAIN = {
  transforms: [
    { name: 'color', params: { brightness: 0.05, contrast: 1.2, saturation: 1.3, gamma: 1.1 } },
    { name: 'lut3d', params: { file: 'grade.cube', interp: 'tetrahedral' } },
    { name: 'text', params: { text: 'Live from the studio', style: 'lower-third' } },
    { name: 'image', params: { file: 'logo.png', position: 'top-left', scale: 0.2 } },
    { name: 'label', params: {} },
  ],
};

interface StreamStats {
  fpsIn: number;
  fpsOut: number;
  framesDropped: number;
  chain: { averageMs: number; framesOverDeadline: number; degraded: boolean };
}

async function run(label: string, spec: { transforms: unknown[] }) {
  const server = await startServer({ LIVEFX_LOG_LEVEL: 'warn' });
  await mkdir(path.join(server.dataDir, 'luts'), { recursive: true });
  await mkdir(path.join(server.dataDir, 'images'), { recursive: true });
  await writeFile(path.join(server.dataDir, 'luts', 'grade.cube'), gradeCube(33));
  writeLogo(path.join(server.dataDir, 'images', 'logo.png'));

  const sessions: { id: string; publisher: WhipClient; viewer: WhepClient }[] = [];
  for (let index = 0; index < STREAMS; index++) {
    const stream = await createStream(server.url, `two streams ${index}`);
    const put = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
    if (!put.ok) throw new Error(`chain refused: ${put.status} ${await put.text()}`);
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1280, height: 720, fps: 30, kbps: 2500 });
    await publisher.start();
    const viewer = new WhepClient(`${server.url}/whep/${stream.id}`);
    await viewer.start();
    sessions.push({ id: stream.id, publisher, viewer });
  }
  for (const session of sessions) await waitFor('viewer frames', () => session.viewer.frames.some((frame) => frame.code) || undefined, 20_000);
  await sleep(WARMUP_MS);

  const statsOf = async (id: string) => ((await (await fetch(`${server.url}/v1/streams/${id}`)).json()) as { stats: StreamStats }).stats;
  const before = await Promise.all(sessions.map((session) => statsOf(session.id)));
  const framesBefore = sessions.map((session) => session.viewer.frames.length);
  const usageBefore = await sampleTree(server.process.pid!);
  await sleep(MEASURE_S * 1000);
  const usageAfter = await sampleTree(server.process.pid!);
  const after = await Promise.all(sessions.map((session) => statsOf(session.id)));

  const latencies: number[] = [];
  const perStream = sessions.map((session, index) => {
    const frames = session.viewer.frames.slice(framesBefore[index]);
    const samples = frames.filter((frame) => frame.code).map((frame) => captureMsDelta(frame.receivedMs, frame.code!.captureMsLow));
    latencies.push(...samples);
    return {
      fpsIn: after[index]!.fpsIn,
      fpsOut: after[index]!.fpsOut,
      framesDropped: after[index]!.framesDropped - before[index]!.framesDropped,
      framesOverDeadline: after[index]!.chain.framesOverDeadline - before[index]!.chain.framesOverDeadline,
      chainMs: Math.round(after[index]!.chain.averageMs * 100) / 100,
      degraded: after[index]!.chain.degraded,
      viewerFrames: frames.length,
      latencyMs: { p50: percentile(samples, 0.5), p95: percentile(samples, 0.95) },
    };
  });
  for (const session of sessions) {
    await session.viewer.stop();
    await session.publisher.stop();
  }
  await server.stop();
  return {
    label,
    streams: perStream,
    latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
    framesDropped: perStream.reduce((sum, stream) => sum + stream.framesDropped, 0),
    serverCorePercent: Math.round(1000 * (coreShare(usageBefore.self, usageAfter.self, MEASURE_S) + coreShare(usageBefore.children, usageAfter.children, MEASURE_S))) / 10,
  };
}

const identity = await run('empty chain', { transforms: [] });
const full = await run('color + lut3d + text + image + label', FULL_CHAIN);
const result = {
  benchmark: 'two processed 720p30 streams at once',
  date: new Date().toISOString(),
  input: `${STREAMS} werift publishers (ffmpeg testsrc2 1280x720 30 fps, H.264 2.5 Mbit/s) and one decoding werift viewer per stream, all on this machine; ${MEASURE_S} s measured after ${WARMUP_MS / 1000} s of warm-up`,
  latency: 'server receipt of a frame\'s first RTP packet → arrival of the processed access unit at the viewer (burn-in code)',
  runs: [identity, full],
  addedByChainMs: { p50: full.latencyMs.p50 - identity.latencyMs.p50, p95: full.latencyMs.p95 - identity.latencyMs.p95 },
};
await writeResult('two-streams', result, {
  title: 'Two 720p30 streams at once: server → viewer latency (ms)',
  unit: 'ms',
  groups: [identity, full].map((run) => ({ label: run.label, values: { p50: run.latencyMs.p50, p95: run.latencyMs.p95 } })),
});
process.exit(0);
