// What the WHEP redirect costs a viewer: time from the WHEP request to the first decoded frame when the
// request reaches a node that does not own the stream (307 to the owner, then the same exchange there)
// against the same request sent to the owner directly, alternating, in the same run. Two real nodes
// share a real Redis (Debian's redis-server) on loopback.
import { WhipClient } from '../test/helpers/whip-client.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { percentile, writeResult } from './bar-chart.js';
import { timeWhepJoin } from './whep-join.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch } from '../test/helpers/livefx-process.js';

const JOINS = Number(process.env.JOIN_COUNT ?? 12);

const redis = await startRedis();
const env = { LIVEFX_REDIS_URL: redis.url, LIVEFX_LOG_LEVEL: 'warn', LIVEFX_MAX_STREAMS: '1', LIVEFX_CPU_LIMIT: '100' };
const owner = await startServer({ ...env, LIVEFX_NODE_ID: 'owner' });
const other = await startServer({ ...env, LIVEFX_NODE_ID: 'other' });
// Created through the owner, which has as many free slots as the other node and is up longest: it stays there.
const stream = await createStream(owner.url, 'redirect-cost benchmark', { record: false });
const publisher = new WhipClient({ endpoint: `${owner.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1280, height: 720, fps: 30, kbps: 2500 });
await publisher.start();
await waitFor('encoding', async () => ((await (await fetch(`${owner.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsOut: number } }).stats.fpsOut > 0 || undefined, 20_000);

const joinOnce = (nodeUrl: string): Promise<number> => timeWhepJoin(`${nodeUrl}/whep/${stream.id}`);

const direct: number[] = [];
const redirected: number[] = [];
for (let index = 0; index < JOINS; index++) {
  direct.push(await joinOnce(owner.url));
  redirected.push(await joinOnce(other.url));
}
await publisher.stop();
await other.stop();
await owner.stop();
await redis.close();

const summary = (values: number[]) => ({ p50Ms: Math.round(percentile(values, 0.5)), p95Ms: Math.round(percentile(values, 0.95)), maxMs: Math.round(Math.max(...values)) });
const result = {
  benchmark: 'WHEP request to first decoded frame: through a non-owner node (307) vs on the owner',
  date: new Date().toISOString(),
  joins: JOINS,
  video: '1280x720, 30 fps, 2.5 Mbit/s from a werift WHIP publisher',
  direct: summary(direct),
  throughRedirect: summary(redirected),
};
await writeResult('redirect-cost', result, {
  title: 'WHEP to first frame: direct vs through a non-owner node (720p30)',
  unit: 'ms',
  groups: [
    { label: 'on the owner', values: { p50: result.direct.p50Ms, p95: result.direct.p95Ms } },
    { label: 'through another node (307)', values: { p50: result.throughRedirect.p50Ms, p95: result.throughRedirect.p95Ms } },
  ],
});
