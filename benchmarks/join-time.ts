// How long a new WebRTC viewer waits for its first picture: processed stream (the encoder makes a
// keyframe when a viewer connects or sends a PLI) against the original forward of the same
// publisher in the same run (this werift test publisher ignores PLIs: keyframe every 1 s). Then the
// watch page in Chromium: navigation to the first presented frame, step by step, from the page's own
// join timings (JOIN_LABEL names the run, e.g. `before`/`after` a change; runs with other labels
// already in the results file are kept beside it; JOIN_COMPARE_EARLY=1 alternates loads with and without
// the page's early WHEP start, JOIN_COMPARE_UI_PRELOAD=1 with a second Chromium that keeps each new
// window's browser-UI preload (Chromium's default, see test/helpers/chromium.ts), and records each).
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../test/helpers/chromium.js';
import { WhipClient } from '../test/helpers/whip-client.js';
import { percentile, writeResult } from './bar-chart.js';
import { timeWatchPageJoin, type WatchPageJoin } from './watch-page-join.js';
import { timeWhepJoin } from './whep-join.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, projectRoot, startServer, waitFor, adminFetch as fetch } from '../test/helpers/livefx-process.js';

const JOINS = Number(process.env.JOIN_COUNT ?? 12);
const PAGE_LOADS = Number(process.env.JOIN_PAGE_LOADS ?? 20);
const LABEL = process.env.JOIN_LABEL ?? 'after';
const COMPARE_EARLY = process.env.JOIN_COMPARE_EARLY === '1';
const COMPARE_UI_PRELOAD = process.env.JOIN_COMPARE_UI_PRELOAD === '1';
const round = (value: number): number => Math.round(value * 100) / 100;
const loadBefore = loadavg().map(round);

const server = await startServer({ LIVEFX_LOG_LEVEL: 'warn' });
const stream = await createStream(server.url, 'join-time benchmark');
const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1280, height: 720, fps: 30, kbps: 2500 });
await publisher.start();
await waitFor('encoding', async () => ((await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsOut: number } }).stats.fpsOut > 0 || undefined, 20_000);

const joinOnce = (query: string): Promise<number> => timeWhepJoin(`${server.url}/whep/${stream.id}${query}`);

const processed: number[] = [];
const original: number[] = [];
for (let index = 0; index < JOINS; index++) {
  processed.push(await joinOnce(''));
  original.push(await joinOnce('?source=original'));
}

const browser = await launchChromium();
/** The page loads of this run, taken in turn: the page as it is, and the comparisons asked for (same run, alternate loads). */
const variants: { label: string; browser: Browser; withoutEarlyStart: boolean; joins: WatchPageJoin[] }[] = [{ label: LABEL, browser, withoutEarlyStart: false, joins: [] }];
// Without the page's early WHEP start its player makes the offer.
if (COMPARE_EARLY) variants.push({ label: `${LABEL}, without the early WHEP start (same run, alternate loads)`, browser, withoutEarlyStart: true, joins: [] });
if (COMPARE_UI_PRELOAD) {
  const preloading = await launchChromium([], { browserUiPreload: true });
  variants.push({ label: `${LABEL}, Chromium's per-window UI preload on (same run, alternate loads)`, browser: preloading, withoutEarlyStart: false, joins: [] });
}
for (let index = 0; index < PAGE_LOADS * variants.length; index++) {
  const variant = variants[index % variants.length]!;
  variant.joins.push(await timeWatchPageJoin(variant.browser, `${server.url}/watch?stream=${stream.id}`, { withoutEarlyStart: variant.withoutEarlyStart }));
}
for (const open of new Set(variants.map((variant) => variant.browser))) await open.close();
await publisher.stop();
await server.stop();

const summary = (values: number[]) => ({ p50Ms: Math.round(percentile(values, 0.5)), p95Ms: Math.round(percentile(values, 0.95)), maxMs: Math.round(Math.max(...values)) });
const STEPS = ['htmlReceived', 'scriptReady', 'socketReady', 'offerSent', 'answered', 'firstFrame'] as const;
const loadAfter = loadavg().map(round);
const pageRun = (label: string, joins: WatchPageJoin[]) => ({
  label,
  date: new Date().toISOString(),
  pageLoads: joins.length,
  /** Each step's time since navigation (cumulative), over the page loads that reached it. */
  steps: Object.fromEntries(
    STEPS.map((step) => [step, joins.some((join) => join[step] !== undefined) ? summary(joins.flatMap((join) => (join[step] === undefined ? [] : [join[step]!]))) : null]),
  ),
  loadAverage: { before: loadBefore, after: loadAfter, cores: cpus().length },
});
const runsNow = variants.map((variant) => pageRun(variant.label, variant.joins));
for (const run of runsNow) console.log(`watch page (${run.label}), navigation to first frame: p50 ${run.steps.firstFrame!.p50Ms} ms, p95 ${run.steps.firstFrame!.p95Ms} ms; load ${loadBefore.join(' ')} → ${loadAfter.join(' ')}`);
// Other labels' runs (e.g. the figures before a change) stay beside this one.
const previous = JSON.parse(await readFile(path.join(projectRoot, 'benchmarks', 'results', 'join-time.json'), 'utf8').catch(() => '{}')) as { watchPage?: typeof runsNow };
const watchPageRuns = [...(previous.watchPage ?? []).filter((run) => !runsNow.some((now) => now.label === run.label)), ...runsNow];
const result = {
  benchmark: 'time from WHEP request to the first decoded frame',
  date: new Date().toISOString(),
  joins: JOINS,
  encoderKeyframe: 'on viewer connect and PLI (at most every 500 ms), else every 1 s',
  publisherKeyframe: 'every 1 s (the test publisher ignores PLIs)',
  processed: summary(processed),
  originalForward: summary(original),
  target: 'first frame within 1 s on loopback',
  machine: 'shared 2-core machine: other engineers ran builds and tests at the same time (see loadAverage)',
  watchPage: watchPageRuns,
};
await writeResult('join-time', result, {
  title: 'New WebRTC viewer: first frame (720p30); werift from the WHEP request, the watch page from navigation',
  unit: 'ms',
  target: { value: 1000, label: 'target 1 s' },
  groups: [
    { label: 'processed (keyframe on demand)', values: { p50: result.processed.p50Ms, p95: result.processed.p95Ms } },
    { label: 'original forward (publisher GOP 1 s)', values: { p50: result.originalForward.p50Ms, p95: result.originalForward.p95Ms } },
    ...watchPageRuns.map((run) => ({ label: `watch page in Chromium (${run.label})`, values: { p50: run.steps.firstFrame!.p50Ms, p95: run.steps.firstFrame!.p95Ms } })),
  ],
});
