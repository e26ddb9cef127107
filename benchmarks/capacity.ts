// Capacity of 1, 2 and 3 livefx nodes on this machine (run one after another, same inputs): streams with
// the default chain are added one at a time (created through the first node, placed by the cluster) until
// one misses its frame rate; then werift viewers are added to the first stream in steps until the viewers
// lose packets or a stream drops frames. Each stream is published by a werift WHIP client (ffmpeg testsrc2
// encoder). Everything — nodes, publishers' encoders, viewers, Redis — shares one 2-core machine with
// other engineers' work: the load average is printed beside every figure, and a projection for N machines
// is written from the per-stream and per-viewer costs measured here.
import { cpus, loadavg } from 'node:os';
import { WhipClient } from '../test/helpers/whip-client.js';
import { startRedis } from '../test/helpers/redis-server.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch, type RunningServer } from '../test/helpers/livefx-process.js';
import { writeResult } from './bar-chart.js';
import { holdViewers, lossPercent } from './viewer-load.js';

const NODE_COUNTS = (process.env.CAPACITY_NODES ?? '1,2,3').split(',').map(Number);
const MAX_STREAMS = Number(process.env.CAPACITY_MAX_STREAMS ?? 4);
const VIEWER_STEPS = (process.env.CAPACITY_VIEWER_STEPS ?? '10,25').split(',').map(Number);
const WARMUP_MS = Number(process.env.CAPACITY_WARMUP_MS ?? 6000);
const MEASURE_S = Number(process.env.CAPACITY_MEASURE_S ?? 10);
const FPS = 30;
/** A stream is sustained while it puts out at least this share of its input frame rate and processes every frame. */
const SUSTAINED_FPS_SHARE = 0.9;
const input = { width: 640, height: 360, fps: FPS, kbps: 800 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const load = (): number => Math.round(loadavg()[0]! * 10) / 10;
const round = (value: number): number => Math.round(value * 10) / 10;

interface StreamRun {
  id: string;
  node: RunningServer;
  publisher: WhipClient;
}

interface StreamStep {
  streams: number;
  sustained: boolean;
  /** Lowest output frame rate among the streams, and the highest processedEvery (1: every frame through the chain). */
  minFpsOut: number;
  maxProcessedEvery: number;
  /** All nodes' processes and their ffmpeg children, in % of one core. */
  nodesCorePercent: number;
  loadAverage: number;
}

interface ViewerStep {
  viewers: number;
  sustained: boolean;
  lossPercent: number;
  minFpsOut: number;
  nodesCorePercent: number;
  loadAverage: number;
}

async function streamFigures(streams: StreamRun[]): Promise<{ minFpsOut: number; maxProcessedEvery: number }> {
  const views = await Promise.all(streams.map(async (stream) => ((await (await fetch(`${stream.node.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsOut: number; processedEvery: number } }).stats));
  return { minFpsOut: Math.min(...views.map((view) => view.fpsOut)), maxProcessedEvery: Math.max(...views.map((view) => view.processedEvery)) };
}

function nodesCore(cores: { self: number; children: number }[]): number {
  return round(100 * cores.reduce((sum, core) => sum + core.self + core.children, 0));
}

async function runNodes(count: number): Promise<{ nodes: number; streamSteps: StreamStep[]; viewerSteps: ViewerStep[]; streamsSustained: number; viewersSustained: number }> {
  const redis = await startRedis();
  const nodes: RunningServer[] = [];
  for (let index = 0; index < count; index++) nodes.push(await startServer({ LIVEFX_REDIS_URL: redis.url, LIVEFX_NODE_ID: `capacity-${count}-${index}`, LIVEFX_LOG_LEVEL: 'warn', LIVEFX_CPU_LIMIT: '100', LIVEFX_HTTP_RATE_PER_IP: '0' }));
  await waitFor(`${count} nodes in the registry`, async () => ((await (await fetch(`${nodes[0]!.url}/v1/nodes`)).json()) as { nodes: unknown[] }).nodes.length === count || undefined, 30_000, 200);
  const pids = nodes.map((node) => node.process.pid!);
  const streams: StreamRun[] = [];
  const streamSteps: StreamStep[] = [];
  const viewerSteps: ViewerStep[] = [];
  try {
    for (let index = 0; index < MAX_STREAMS; index++) {
      const created = await createStream(nodes[0]!.url, `capacity ${count}/${index}`, { record: false });
      const node = nodes.find((candidate) => candidate.url === created.node?.url) ?? nodes[0]!;
      const publisher = new WhipClient({ endpoint: `${node.url}/whip/${created.id}`, streamKey: created.streamKey, ...input });
      streams.push({ id: created.id, node, publisher });
      await publisher.start();
      await waitFor('the new stream encoding', async () => ((await streamFigures([streams.at(-1)!])).minFpsOut > 0) || undefined, 30_000, 250);
      await sleep(WARMUP_MS);
      const measured = await holdViewers('', 0, MEASURE_S, pids);
      const figures = await streamFigures(streams);
      const step = { streams: streams.length, sustained: figures.minFpsOut >= SUSTAINED_FPS_SHARE * FPS && figures.maxProcessedEvery === 1, ...figures, nodesCorePercent: nodesCore(measured.cores), loadAverage: load() };
      console.log(JSON.stringify({ nodes: count, ...step }));
      streamSteps.push(step);
      if (!step.sustained) break;
    }
    // Viewers are measured on the streams that were sustained.
    if (!streamSteps.at(-1)!.sustained && streams.length > 1) {
      const last = streams.pop()!;
      await last.publisher.stop();
      await fetch(`${last.node.url}/v1/streams/${last.id}`, { method: 'DELETE' });
      await sleep(WARMUP_MS);
    }
    const first = streams[0]!;
    for (const viewers of VIEWER_STEPS) {
      const measured = await holdViewers(`${nodes[0]!.url}/whep/${first.id}`, viewers, MEASURE_S, pids);
      const figures = await streamFigures(streams);
      const step = { viewers, lossPercent: lossPercent(measured), minFpsOut: figures.minFpsOut, sustained: lossPercent(measured) < 1 && figures.minFpsOut >= SUSTAINED_FPS_SHARE * FPS, nodesCorePercent: nodesCore(measured.cores), loadAverage: load() };
      console.log(JSON.stringify({ nodes: count, ...step }));
      viewerSteps.push(step);
      if (!step.sustained) break;
    }
  } finally {
    for (const stream of streams) await stream.publisher.stop().catch(() => undefined);
    for (const stream of streams) await fetch(`${stream.node.url}/v1/streams/${stream.id}`, { method: 'DELETE' }).catch(() => undefined);
    for (const node of nodes.reverse()) await node.stop();
    await redis.close();
  }
  const streamsSustained = streamSteps.filter((step) => step.sustained).at(-1)?.streams ?? 0;
  const viewersSustained = viewerSteps.filter((step) => step.sustained).at(-1)?.viewers ?? 0;
  return { nodes: count, streamSteps, viewerSteps, streamsSustained, viewersSustained };
}

const runs = [];
for (const count of NODE_COUNTS) runs.push(await runNodes(count));

// Costs from the one-node run: CPU per sustained stream (node + its ffmpeg children), and per viewer (slope of the viewer steps).
const single = runs[0]!;
const lastStream = single.streamSteps.filter((step) => step.sustained).at(-1) ?? single.streamSteps[0]!;
const perStreamCore = round(lastStream.nodesCorePercent / lastStream.streams);
const viewerBase = lastStream.nodesCorePercent;
const lastViewers = single.viewerSteps.filter((step) => step.sustained).at(-1) ?? single.viewerSteps[0];
const perViewerCore = lastViewers ? Math.round(((lastViewers.nodesCorePercent - viewerBase) / lastViewers.viewers) * 100) / 100 : Number.NaN;
/** What one machine of `cores` cores holds at 80 % CPU, all streams or all viewers, from the measured costs. */
const perMachine = (cores: number) => ({ cores, streams: Math.floor((cores * 80) / perStreamCore), viewersOnly: perViewerCore > 0 ? Math.floor((cores * 80) / perViewerCore) : null });
const result = {
  benchmark: 'capacity: streams (default chain) and viewers that 1, 2 and 3 livefx nodes on this machine sustain',
  date: new Date().toISOString(),
  machine: `${cpus().length} cores, shared with other engineers' work at the time (see each step's loadAverage); the publishers' ffmpeg encoders, the werift viewers and Redis run on the same cores`,
  input: `${input.width}x${input.height} @${FPS} fps, ${input.kbps} kbit/s H.264 per stream (werift WHIP publisher, ffmpeg testsrc2), default chain; sustained: every stream ≥ ${SUSTAINED_FPS_SHARE * FPS} fps out, every frame processed, viewers < 1 % loss`,
  measureSecondsPerStep: MEASURE_S,
  runs,
  costs: { corePercentPerStream: perStreamCore, corePercentPerViewer: perViewerCore },
  projection: {
    method: 'one machine holds (cores × 80 %) / per-stream cost streams, or that / per-viewer cost viewers (mixes in proportion); N machines N times that, since nodes share nothing on the media path (a relay costs the owner one viewer)',
    perMachine: [perMachine(2), perMachine(8), perMachine(32)],
  },
};
await writeResult('capacity', result, {
  title: `Capacity on one shared 2-core machine (load ${runs.map((run) => run.streamSteps[0]?.loadAverage).join(', ')})`,
  unit: 'streams / viewers',
  groups: runs.map((run) => ({ label: `${run.nodes} node${run.nodes > 1 ? 's' : ''}`, values: { 'streams sustained': run.streamsSustained, 'viewers sustained ÷10': run.viewersSustained / 10 } })),
});
