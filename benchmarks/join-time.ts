// How long a new WebRTC viewer waits for its first picture: processed stream (the encoder makes a
// keyframe when a viewer connects or sends a PLI) against the original forward of the same
// publisher in the same run (this werift test publisher ignores PLIs: keyframe every 1 s).
import { WhipClient } from '../test/helpers/whip-client.js';
import { percentile, writeResult } from './bar-chart.js';
import { timeWhepJoin } from './whep-join.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch } from '../test/helpers/livefx-process.js';

const JOINS = Number(process.env.JOIN_COUNT ?? 12);

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
await publisher.stop();
await server.stop();

const summary = (values: number[]) => ({ p50Ms: Math.round(percentile(values, 0.5)), p95Ms: Math.round(percentile(values, 0.95)), maxMs: Math.round(Math.max(...values)) });
const result = {
  benchmark: 'time from WHEP request to the first decoded frame',
  date: new Date().toISOString(),
  joins: JOINS,
  encoderKeyframe: 'on viewer connect and PLI (at most every 500 ms), else every 1 s',
  publisherKeyframe: 'every 1 s (the test publisher ignores PLIs)',
  processed: summary(processed),
  originalForward: summary(original),
  target: 'first frame within 1 s on loopback',
};
await writeResult('join-time', result, {
  title: 'New WebRTC viewer: request to first frame (720p30)',
  unit: 'ms',
  target: { value: 1000, label: 'target 1 s' },
  groups: [
    { label: 'processed (keyframe on demand)', values: { p50: result.processed.p50Ms, p95: result.processed.p95Ms } },
    { label: 'original forward (publisher GOP 1 s)', values: { p50: result.originalForward.p50Ms, p95: result.originalForward.p95Ms } },
  ],
});
