// How many WebRTC viewers one core forwards for one processed 720p stream before loss exceeds 1 %:
// the server's CPU is measured while a separate process holds N viewers, for growing N.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WhipClient } from '../test/helpers/whip-client.js';
import { writeResult } from './bar-chart.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch } from '../test/helpers/livefx-process.js';
import { coreShare, sampleTree } from './process-usage.js';

const STEPS = (process.env.FANOUT_STEPS ?? '0,10,20,40').split(',').map(Number);
const MEASURE_S = Number(process.env.FANOUT_MEASURE_S ?? 15);
const here = path.dirname(fileURLToPath(import.meta.url));

const server = await startServer({ LIVEFX_LOG_LEVEL: 'warn' });
const stream = await createStream(server.url, 'fan-out benchmark');
const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1280, height: 720, fps: 30, kbps: 2500 });
await publisher.start();
await waitFor('encoding', async () => ((await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsOut: number } }).stats.fpsOut > 0 || undefined, 20_000);

const rows: { viewers: number; serverCorePercent: number; lossPercent: number; mbitPerViewer: number }[] = [];
for (const viewers of STEPS) {
  let received = 0;
  let lost = 0;
  let cpu = 0;
  if (viewers === 0) {
    const before = await sampleTree(server.process.pid!);
    await new Promise((resolve) => setTimeout(resolve, MEASURE_S * 1000));
    cpu = coreShare(before.self, (await sampleTree(server.process.pid!)).self, MEASURE_S);
  } else {
    const child = spawn(process.execPath, [path.join(here, 'fanout-viewers.js'), `${server.url}/whep/${stream.id}`, String(viewers), String(MEASURE_S)]);
    let output = '';
    child.stderr.pipe(process.stderr);
    const measuring = new Promise<void>((resolve) => child.stdout.on('data', (text: Buffer) => {
      output += text.toString();
      if (output.includes('measuring')) resolve();
    }));
    await measuring;
    const before = await sampleTree(server.process.pid!);
    await new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const after = await sampleTree(server.process.pid!);
    cpu = coreShare(before.self, after.self, MEASURE_S);
    const summary = JSON.parse(output.trim().split('\n').at(-1)!) as { received: number; lost: number };
    received = summary.received;
    lost = summary.lost;
  }
  const row = {
    viewers,
    serverCorePercent: Math.round(cpu * 1000) / 10,
    lossPercent: received + lost > 0 ? Math.round((lost / (received + lost)) * 10_000) / 100 : 0,
    mbitPerViewer: viewers > 0 ? Math.round(((received / viewers) * 1200 * 8) / MEASURE_S / 1e4) / 100 : 0,
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
