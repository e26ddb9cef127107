// Glass-to-glass latency: Chromium publishes a canvas stamped with Date.now(); Chromium viewers read
// the stamp back from the presented frame. The server runs with its own burn-in off, so the
// publisher's stamp passes through the (identity) pipeline. Same run, same publisher:
//   WebRTC processed (decode → chain → encode), WebRTC original (SFU forward only), HLS processed
//   (MPEG-TS segments, index.m3u8) and LL-HLS processed (fMP4 parts, ll.m3u8, hls.js in low-latency mode).
import { loadavg } from 'node:os';
import { writeResult, percentile } from './bar-chart.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { collectSamples, publishCodedCanvas, watchAndMeasure } from '../test/helpers/in-page-media.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch } from '../test/helpers/livefx-process.js';

const WARMUP_MS = Number(process.env.LATENCY_WARMUP_MS ?? 12_000);
const MEASURE_MS = Number(process.env.LATENCY_MEASURE_MS ?? 20_000);

async function main(): Promise<void> {
  const server = await startServer({ LIVEFX_BURN_IN: 'false', LIVEFX_LOG_LEVEL: 'warn' });
  const browser = await launchChromium();
  try {
    const stream = await createStream(server.url, 'latency benchmark');
    const publisherPage = await browser.newPage();
    await publisherPage.goto(`${server.url}/healthz`);
    await publishCodedCanvas(publisherPage, stream.id, stream.streamKey);
    await waitFor('stream live', async () => {
      const view = (await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsOut: number } };
      return view.stats.fpsOut > 0 ? true : undefined;
    }, 20_000);
    const modes = ['webrtc', 'original', 'hls', 'll-hls'] as const;
    const labels = { webrtc: 'WebRTC processed', original: 'WebRTC SFU forward', hls: 'HLS processed', 'll-hls': 'LL-HLS processed' } as const;
    const pages = await Promise.all(modes.map(() => browser.newPage()));
    for (const [index, mode] of modes.entries()) {
      await pages[index]!.goto(`${server.url}/healthz`);
      await watchAndMeasure(pages[index]!, stream.id, mode);
    }
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    await Promise.all(pages.map((page) => collectSamples(page)));
    await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
    const measured = await Promise.all(pages.map((page) => collectSamples(page)));
    const loadAverage = loadavg().map((value) => Math.round(value * 100) / 100);
    const view = (await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: Record<string, unknown> };
    const rows = modes.map((mode, index) => {
      const { samples, frames } = measured[index]!;
      return {
        mode,
        framesPresented: frames,
        framesWithCode: samples.length,
        fpsPresented: Math.round((frames / (MEASURE_MS / 1000)) * 10) / 10,
        p50Ms: percentile(samples, 0.5),
        p95Ms: percentile(samples, 0.95),
      };
    });
    const processed = rows[0]!;
    const original = rows[1]!;
    const result = {
      benchmark: 'glass-to-glass latency',
      date: new Date().toISOString(),
      machine: `${process.arch}, ${(await import('node:os')).cpus().length} cores`,
      input: 'Chromium canvas 1280x720 @30 fps, H.264 over WHIP, identity chain (burn-in off)',
      measureSeconds: MEASURE_MS / 1000,
      rows,
      pipelineAddedMs: { p50: processed.p50Ms - original.p50Ms, p95: processed.p95Ms - original.p95Ms },
      targets: { pipelineAddedP95Ms: 50, hlsGlassToGlassMs: 3000, llHlsGlassToGlassP95Ms: 2000 },
      loadAverage,
      serverStats: view.stats,
    };
    await writeResult('latency', result, {
      title: `Glass-to-glass latency, 1280x720 30 fps (same run, load ${loadAverage[0]})`,
      unit: 'ms',
      groups: rows.map((row) => ({
        label: labels[row.mode],
        values: { p50: row.p50Ms, p95: row.p95Ms },
      })),
    });
  } finally {
    await browser.close();
    await server.stop();
  }
}

await main();
