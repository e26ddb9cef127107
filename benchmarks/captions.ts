// Live captions end to end: a Chromium publisher whose microphone is generated speech, a viewer page.
// Measures caption latency (end of a spoken word → the caption showing it on the viewer's page) and
// the CPU and memory a captioned stream costs over the same stream without captions.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { makeSpeech, normaliseWords } from '../test/helpers/asr-speech.js';
import { percentile, writeResult } from './bar-chart.js';
import { launchChromium } from '../test/helpers/chromium.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch } from '../test/helpers/livefx-process.js';
import { coreShare, sampleTree } from './process-usage.js';

const SENTENCES = ['The meeting starts at seven thirty tomorrow.', 'There were twenty three people in the room.', 'Please bring your notes and a pen.'];
const MEASURE_S = Number(process.env.CAPTIONS_BENCH_S ?? 30);
type CaptionLog = { text: string; atMs: number; partial: boolean; final: boolean }[];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const dir = await mkdtemp(path.join(tmpdir(), 'livefx-captions-bench-'));
const speech = await makeSpeech(dir, 'speech', SENTENCES, { leadSilenceMs: 1000, gapMs: 1500 });
const wav = path.join(dir, 'microphone.wav');
spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', speech.file, '-ar', '48000', '-ac', '1', '-c:a', 'pcm_s16le', wav]);
const server = await startServer({ LIVEFX_MEDIA_TIMEOUT_S: '5' });
const browser = await launchChromium([`--use-file-for-fake-audio-capture=${wav}`]);
const pid = server.process.pid!;

async function usage(seconds: number): Promise<{ cores: number; rssMb: number }> {
  const before = await sampleTree(pid);
  await sleep(seconds * 1000);
  const after = await sampleTree(pid);
  return {
    cores: coreShare(before.self, after.self, seconds) + coreShare(before.children, after.children, seconds),
    rssMb: (after.self.rssBytes + after.children.rssBytes) / 2 ** 20,
  };
}

try {
  const stream = await createStream(server.url, 'captions benchmark');
  const publisher = await browser.newPage();
  await publisher.goto(`${server.url}${stream.urls.publish!}&source=camera`);
  await publisher.getByTestId('go-live').click();
  await waitFor('the publisher to be live', async () => ((await publisher.getByTestId('state').textContent()) === 'live' ? true : undefined), 20_000);
  const recording = await waitFor('the recording', async () => ((await (await fetch(`${server.url}/v1/recordings?streamId=${stream.id}`)).json()) as { recordings: { id: string; startedAt: string }[] }).recordings[0]);
  const viewer: Page = await browser.newPage();
  await viewer.goto(`${server.url}${stream.urls.watch!}`);
  await waitFor('the viewer to show video', async () => ((await viewer.evaluate(() => (window as unknown as { livefxViewer: { framesRendered: number } }).livefxViewer.framesRendered)) > 30 ? true : undefined), 20_000);
  await sleep(3000);
  const without = await usage(MEASURE_S / 2);
  const put = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transforms: [{ name: 'subtitles' }] }) });
  if (!put.ok) throw new Error(`setting the chain failed: ${await put.text()}`);
  await sleep(3000);
  // The machine is shared: the load over the measured window is printed beside the figures.
  const loadBefore = loadavg()[0]!;
  const withCaptions = await usage(MEASURE_S);
  const loadAfter = loadavg()[0]!;
  const log = (await viewer.evaluate(() => (window as unknown as { livefxViewer: { captionLog: CaptionLog } }).livefxViewer.captionLog)) as CaptionLog;
  await publisher.getByTestId('stop').click();
  await waitFor('the recording to complete', async () => (((await (await fetch(`${server.url}/v1/recordings/${recording.id}`)).json()) as { state: string }).state === 'complete' ? true : undefined), 15_000);
  const transcript = (await (await fetch(`${server.url}/v1/recordings/${recording.id}/transcript`)).json()) as { words: { word: string; t: number; end: number }[] };
  const startedMs = Date.parse(recording.startedAt);
  const lastLogMs = log.length > 0 ? log[log.length - 1]!.atMs : 0;
  const latencies: number[] = [];
  // Until the recogniser's final settled the word (the cue with `partial: false` that shows it).
  const settledLatencies: number[] = [];
  let unmatched = 0;
  for (const word of transcript.words) {
    const [normalised] = normaliseWords(word.word);
    const endMs = startedMs + word.end * 1000;
    if (!normalised || endMs > lastLogMs) continue;
    const showing = (entry: CaptionLog[number]): boolean => entry.atMs > endMs - 1000 && entry.atMs < endMs + 8000 && normaliseWords(entry.text).includes(normalised);
    const shown = log.find(showing);
    if (shown) latencies.push(shown.atMs - endMs);
    else unmatched++;
    const settled = log.find((entry) => showing(entry) && entry.partial === false);
    if (settled) settledLatencies.push(settled.atMs - endMs);
  }
  const result = {
    measuredS: MEASURE_S,
    words: transcript.words.length,
    latencyMs: { p50: Math.round(percentile(latencies, 0.5)), p95: Math.round(percentile(latencies, 0.95)), max: Math.round(Math.max(...latencies)), matchedWords: latencies.length, unmatchedWords: unmatched },
    settledLatencyMs: { p50: Math.round(percentile(settledLatencies, 0.5)), p95: Math.round(percentile(settledLatencies, 0.95)), words: settledLatencies.length },
    machineLoad: { cores: cpus().length, loadAverage1mBefore: round(loadBefore), loadAverage1mAfter: round(loadAfter) },
    cpuCores: { withoutCaptions: round(without.cores), withCaptions: round(withCaptions.cores), captions: round(withCaptions.cores - without.cores) },
    rssMb: { withoutCaptions: Math.round(without.rssMb), withCaptions: Math.round(withCaptions.rssMb), captions: Math.round(withCaptions.rssMb - without.rssMb) },
    // The stream adapts its recogniser to the speaker after 30 s of recognised speech (CAPTIONS_BENCH_S=90 reaches it).
    speakerAdaptation: server.output().split('\n').filter((line) => /adapt to the speaker|adapted to the speaker/.test(line)).map((line) => (/"msg":"([^"]*)"/.exec(line)?.[1] ?? line)),
    note: 'server process (threads: pipeline worker, PocketSphinx worker) plus its ffmpeg children; the viewer and publisher Chromium share the same 2 cores',
  };
  console.log(`caption latency p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms (settled p95 ${result.settledLatencyMs.p95} ms) at load ${result.machineLoad.loadAverage1mBefore}–${result.machineLoad.loadAverage1mAfter} on ${result.machineLoad.cores} cores; speaker adaptation: ${result.speakerAdaptation.join('; ') || 'none'}`);
  await writeResult('captions', result, {
    title: 'Caption latency: end of a spoken word → caption on the viewer page',
    unit: 'ms',
    groups: [
      { label: 'word first shown', values: { p50: result.latencyMs.p50, p95: result.latencyMs.p95 } },
      { label: 'settled by the final', values: { p50: result.settledLatencyMs.p50, p95: result.settledLatencyMs.p95 } },
    ],
    target: { value: 1500, label: 'target p95 1.5 s' },
  });
} finally {
  await browser.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
