// Viewers through a relay node vs directly on the owner, in one run on one Redis, same input (a Chromium
// canvas 1280x720 30 fps stamped with Date.now(), published to the owner; burn-in off, identity chain):
//   1. direct: the owner has no viewer limit; N werift viewers join it; its CPU is measured per step.
//   2. relay: the owner takes one viewer (LIVEFX_MAX_VIEWERS=1), a Chromium viewer there and one on the
//      relay node are measured side by side (glass-to-glass, as latency.ts); then N werift viewers join
//      the relay node, and both nodes' CPU is measured per step.
// The machine is shared: the load average is printed beside every figure.
import { loadavg } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../test/helpers/chromium.js';
import { collectSamples, publishCodedCanvas, watchAndMeasure } from '../test/helpers/in-page-media.js';
import { startRedis } from '../test/helpers/redis-server.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch, type RunningServer } from '../test/helpers/livefx-process.js';
import { percentile, writeResult } from './bar-chart.js';
import { holdViewers, lossPercent } from './viewer-load.js';

const STEPS = (process.env.RELAY_STEPS ?? '0,10,20').split(',').map(Number);
const MEASURE_S = Number(process.env.RELAY_MEASURE_S ?? 12);
const LATENCY_WARMUP_MS = Number(process.env.RELAY_LATENCY_WARMUP_MS ?? 8000);
const LATENCY_MEASURE_MS = Number(process.env.RELAY_LATENCY_MEASURE_MS ?? 15_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const load = (): number => Math.round(loadavg()[0]! * 10) / 10;
const round = (value: number): number => Math.round(value * 10) / 10;

interface StepRow {
  viewers: number;
  ownerCorePercent: number;
  relayNodeCorePercent: number;
  lossPercent: number;
  loadAverage: number;
}

interface Phase {
  owner: RunningServer;
  relay: RunningServer;
  streamId: string;
  browser: Browser;
  close(): Promise<void>;
}

const redis = await startRedis();

async function startPhase(name: string, ownerMaxViewers: number): Promise<Phase> {
  const common = { LIVEFX_REDIS_URL: redis.url, LIVEFX_LOG_LEVEL: 'warn', LIVEFX_CPU_LIMIT: '100', LIVEFX_BURN_IN: 'false', LIVEFX_HTTP_RATE_PER_IP: '0' };
  const owner = await startServer({ ...common, LIVEFX_NODE_ID: `owner-${name}`, LIVEFX_MAX_VIEWERS: String(ownerMaxViewers) });
  const relay = await startServer({ ...common, LIVEFX_NODE_ID: `relay-${name}` });
  const stream = await createStream(owner.url, `relay benchmark (${name})`, { record: false });
  const browser = await launchChromium();
  const publisherPage = await browser.newPage();
  await publisherPage.goto(`${owner.url}/healthz`);
  await publishCodedCanvas(publisherPage, stream.id, stream.streamKey);
  await waitFor('encoding', async () => ((await (await fetch(`${owner.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsOut: number } }).stats.fpsOut > 0 || undefined, 30_000);
  return {
    owner,
    relay,
    streamId: stream.id,
    browser,
    close: async () => {
      await browser.close();
      await fetch(`${owner.url}/v1/streams/${stream.id}`, { method: 'DELETE' }).catch(() => undefined);
      await relay.stop();
      await owner.stop();
    },
  };
}

async function viewerSteps(phase: Phase, endpointNode: RunningServer): Promise<StepRow[]> {
  const rows: StepRow[] = [];
  for (const viewers of STEPS) {
    const measured = await holdViewers(`${endpointNode.url}/whep/${phase.streamId}`, viewers, MEASURE_S, [phase.owner.process.pid!, phase.relay.process.pid!]);
    const [owner, relay] = measured.cores;
    // The owner's cost includes its ffmpeg children (the stream's decode and encode).
    const row = { viewers, ownerCorePercent: round(100 * (owner!.self + owner!.children)), relayNodeCorePercent: round(100 * (relay!.self + relay!.children)), lossPercent: lossPercent(measured), loadAverage: load() };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}

async function watch(browser: Browser, nodeUrl: string, streamId: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${nodeUrl}/healthz`);
  await watchAndMeasure(page, streamId, 'webrtc');
  return page;
}

/** Per-viewer cost: the slope between the first and the last step of the node that serves the viewers. */
function perViewer(rows: StepRow[], column: 'ownerCorePercent' | 'relayNodeCorePercent'): number {
  const first = rows[0]!;
  const last = rows.at(-1)!;
  return last.viewers > first.viewers ? Math.round(((last[column] - first[column]) / (last.viewers - first.viewers)) * 100) / 100 : Number.NaN;
}

// 1. Direct.
const direct = await startPhase('direct', 0);
const directRows = await viewerSteps(direct, direct.owner);
await direct.close();

// 2. Through the relay: the owner's one viewer slot is taken by a measured Chromium viewer first.
const relayed = await startPhase('relay', 1);
const onOwner = await watch(relayed.browser, relayed.owner.url, relayed.streamId);
await waitFor('the owner reporting itself full', async () => {
  const nodes = ((await (await fetch(`${relayed.relay.url}/v1/nodes`)).json()) as { nodes: { id: string; viewers: number }[] }).nodes;
  return nodes.find((node) => node.id === 'owner-relay')?.viewers === 1 || undefined;
}, 15_000, 200);
const onRelay = await watch(relayed.browser, relayed.relay.url, relayed.streamId);
await sleep(LATENCY_WARMUP_MS);
await Promise.all([onOwner, onRelay].map((page) => collectSamples(page)));
const latencyLoadBefore = load();
await sleep(LATENCY_MEASURE_MS);
const [ownerSamples, relaySamples] = await Promise.all([onOwner, onRelay].map((page) => collectSamples(page)));
const latencyLoad = [latencyLoadBefore, load()];
const relayNode = ((await (await fetch(`${relayed.relay.url}/v1/nodes`)).json()) as { nodes: { id: string; relays: number; viewers: number }[] }).nodes.find((node) => node.id === 'relay-relay');
const relayRows = await viewerSteps(relayed, relayed.relay);
await relayed.close();
await redis.close();

const latency = (samples: { samples: number[]; frames: number }) => ({
  framesPresented: samples.frames,
  framesWithCode: samples.samples.length,
  p50Ms: percentile(samples.samples, 0.5),
  p95Ms: percentile(samples.samples, 0.95),
});
const directLatency = latency(ownerSamples!);
const relayLatency = latency(relaySamples!);
const result = {
  benchmark: 'WebRTC viewers through a relay node vs directly on the owner',
  date: new Date().toISOString(),
  machine: 'one shared 2-core VM: both nodes, Redis, Chromium (publisher and two viewers) and the werift viewers all run on it, beside other engineers\' work',
  input: 'Chromium canvas 1280x720 @30 fps over WHIP to the owner, identity chain, burn-in off',
  measureSecondsPerStep: MEASURE_S,
  latency: {
    measureSeconds: LATENCY_MEASURE_MS / 1000,
    loadAverage: latencyLoad,
    directOnOwner: directLatency,
    throughRelay: relayLatency,
    relayAddedMs: { p50: relayLatency.p50Ms - directLatency.p50Ms, p95: relayLatency.p95Ms - directLatency.p95Ms },
    relayNodeDuringLatency: relayNode,
  },
  direct: { rows: directRows, ownerCorePercentPerViewer: perViewer(directRows, 'ownerCorePercent') },
  throughRelay: {
    rows: relayRows,
    relayNodeCorePercentPerViewer: perViewer(relayRows, 'relayNodeCorePercent'),
    ownerCorePercentPerRelayedViewer: perViewer(relayRows, 'ownerCorePercent'),
  },
  note: 'CPU is the share of one core of the node process (and, for the owner, its ffmpeg children) while the werift viewers (a separate process) are held; per-viewer figures are the slope from the first to the last step',
};
await writeResult('relay', result, {
  title: `Relay: glass-to-glass (ms) and % of a core per viewer (load ${latencyLoad.join('–')})`,
  unit: 'ms / % of a core',
  groups: [
    { label: 'direct on the owner', values: { 'p50 ms': directLatency.p50Ms, 'p95 ms': directLatency.p95Ms, 'CPU % per viewer ×100': Math.round(result.direct.ownerCorePercentPerViewer * 100) } },
    { label: 'through a relay node', values: { 'p50 ms': relayLatency.p50Ms, 'p95 ms': relayLatency.p95Ms, 'CPU % per viewer ×100': Math.round(result.throughRelay.relayNodeCorePercentPerViewer * 100) } },
  ],
});
