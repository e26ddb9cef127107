// How many WebRTC viewers one core forwards for one processed 720p stream before loss exceeds 1 %:
// the server's CPU is measured while a separate process holds N viewers, for growing N.
import { WhipClient } from '../test/helpers/whip-client.js';
import { writeResult } from './bar-chart.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch } from '../test/helpers/livefx-process.js';
import { holdViewers, lossPercent } from './viewer-load.js';

const STEPS = (process.env.FANOUT_STEPS ?? '0,10,20,40').split(',').map(Number);
const MEASURE_S = Number(process.env.FANOUT_MEASURE_S ?? 15);

const server = await startServer({ LIVEFX_LOG_LEVEL: 'warn' });
const stream = await createStream(server.url, 'fan-out benchmark');
const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1280, height: 720, fps: 30, kbps: 2500 });
await publisher.start();
await waitFor('encoding', async () => ((await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsOut: number } }).stats.fpsOut > 0 || undefined, 20_000);

const rows: { viewers: number; serverCorePercent: number; lossPercent: number; mbitPerViewer: number }[] = [];
for (const viewers of STEPS) {
  const measured = await holdViewers(`${server.url}/whep/${stream.id}`, viewers, MEASURE_S, [server.process.pid!]);
  const row = {
    viewers,
    serverCorePercent: Math.round(measured.cores[0]!.self * 1000) / 10,
    lossPercent: lossPercent(measured),
    mbitPerViewer: viewers > 0 ? Math.round(((measured.received / viewers) * 1200 * 8) / MEASURE_S / 1e4) / 100 : 0,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
await publisher.stop();
await server.stop();

const base = rows[0]!.serverCorePercent;
const lossless = rows.filter((row) => row.viewers > 0 && row.lossPercent < 1);
const largest = lossless.at(-1);
const perViewerCore = largest ? (largest.serverCorePercent - base) / largest.viewers : Number.NaN;
const result = {
  benchmark: 'WebRTC fan-out of one processed 720p30 stream',
  date: new Date().toISOString(),
  measureSecondsPerStep: MEASURE_S,
  rows,
  corePercentPerViewer: Math.round(perViewerCore * 100) / 100,
  viewersPerCoreEstimate: largest ? Math.floor(100 / perViewerCore) : null,
  note: 'viewers are werift clients in a separate process on the same 2-core machine; the estimate extrapolates the marginal cost of the largest step with < 1 % loss',
};
await writeResult('fanout', result, {
  title: 'Server CPU while forwarding one processed 720p stream',
  unit: '% of one core',
  groups: rows.map((row) => ({ label: `${row.viewers} viewers`, values: { 'server CPU %': row.serverCorePercent, 'loss %': row.lossPercent } })),
});
