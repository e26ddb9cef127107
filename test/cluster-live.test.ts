import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminFetch, createStream, startServer, waitFor, type CreatedStream, type RunningServer } from './helpers/livefx-process.js';
import { startRedis, type RunningRedis } from './helpers/redis-server.js';
import { WhipClient } from './helpers/whip-client.js';
import { WhepClient } from './helpers/whep-client.js';

// Three real nodes sharing one real Redis, one processing slot each (LIVEFX_MAX_STREAMS=1), started one after another.
interface NodeView {
  id: string;
  url: string;
  state: 'serving' | 'draining';
  freeSlots: number;
  streams: number;
  lastHeartbeat: string;
}

const marker = randomBytes(3).toString('hex');
const nodeId = (name: string): string => `${name}-${marker}`;
let redis: RunningRedis;
const nodes: Record<'a' | 'b' | 'c', RunningServer | undefined> = { a: undefined, b: undefined, c: undefined };
const clients: { stop(): Promise<void> }[] = [];

const node = (name: 'a' | 'b' | 'c'): RunningServer => nodes[name]!;

async function listNodes(url: string): Promise<NodeView[]> {
  const response = await adminFetch(`${url}/v1/nodes`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { nodes: NodeView[] }).nodes;
}

function startNode(name: 'a' | 'b' | 'c'): Promise<RunningServer> {
  // CPU limit 100: this loaded 2-core machine must not make every node look full. Node C sends viewers to the owner (test/cluster-failover.test.ts has nodes that serve them).
  return startServer({ LIVEFX_REDIS_URL: redis.url, LIVEFX_NODE_ID: nodeId(name), LIVEFX_MAX_STREAMS: '1', LIVEFX_CPU_LIMIT: '100', LIVEFX_HTTP_RATE_PER_IP: '0', ...(name === 'c' ? { LIVEFX_CLUSTER_VIEWERS: 'redirect' } : {}) });
}

type PlacedStream = CreatedStream & { node: { id: string; url: string } };

/** A stream's creation through `url`, and the node it landed on. */
async function createThrough(url: string, title: string): Promise<PlacedStream> {
  const created = await createStream(url, title, { record: false });
  expect(created.node, 'the node the stream was placed on').toBeDefined();
  return created as PlacedStream;
}

beforeAll(async () => {
  redis = await startRedis();
  for (const name of ['a', 'b', 'c'] as const) nodes[name] = await startNode(name);
}, 120_000);

afterAll(async () => {
  for (const client of clients) await client.stop().catch(() => undefined);
  for (const server of Object.values(nodes)) {
    if (!server || server.process.exitCode !== null || server.process.signalCode !== null) continue;
    // A node drains on SIGTERM: its streams are ended first so it stops at once.
    const listed = (await (await adminFetch(`${server.url}/v1/streams`)).json().catch(() => ({}))) as { streams?: { id: string }[] };
    for (const stream of listed.streams ?? []) await adminFetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE' }).catch(() => undefined);
    await server.stop();
  }
  await redis?.close();
}, 120_000);

describe('live streams across nodes (LIVEFX_REDIS_URL)', () => {
  let onA: PlacedStream;
  let onB: PlacedStream;
  let publisher: WhipClient;
  let viewer: WhepClient;

  it('lists the three nodes serving, with their URLs and free slots', async () => {
    const listed = await waitFor('three nodes in the registry', async () => {
      const found = await listNodes(node('a').url);
      return found.length === 3 ? found : undefined;
    });
    expect(listed.map((entry) => entry.id).sort()).toEqual([nodeId('a'), nodeId('b'), nodeId('c')]);
    for (const entry of listed) {
      expect(entry.state).toBe('serving');
      expect(entry.freeSlots).toBe(1);
      expect(Date.now() - Date.parse(entry.lastHeartbeat)).toBeLessThan(10_000);
    }
    expect(listed.find((entry) => entry.id === nodeId('b'))!.url).toBe(node('b').url);
    const metrics = await (await adminFetch(`${node('a').url}/metrics`)).text();
    expect(metrics).toContain(`livefx_node_free_slots{node="${nodeId('c')}"} 1`);
  }, 30_000);

  it('places two streams created through node A on A and then on B (most free slots; ties: the node up longest)', async () => {
    onA = await createThrough(node('a').url, 'first');
    expect(onA.node.id).toBe(nodeId('a'));
    onB = await createThrough(node('a').url, 'second');
    expect(onB.node.id).toBe(nodeId('b'));
    expect(onB.node.url).toBe(node('b').url);
    const onNodeB = (await (await adminFetch(`${node('b').url}/v1/streams`)).json()) as { streams: { id: string }[] };
    expect(onNodeB.streams.map((stream) => stream.id)).toEqual([onB.id]);
  }, 30_000);

  it('redirects a WHIP POST on the wrong node (307, signed URL on the owner) and a plain WHIP client publishes through it', async () => {
    const wrongKey = await fetch(`${node('b').url}/whip/${onA.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: 'Bearer not-the-key' }, body: 'v=0', redirect: 'manual' });
    expect(wrongKey.status).toBe(401);
    const redirect = await fetch(`${node('b').url}/whip/${onA.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${onA.streamKey}` }, body: 'v=0', redirect: 'manual' });
    expect(redirect.status).toBe(307);
    const location = new URL(redirect.headers.get('location')!);
    expect(location.origin).toBe(node('a').url);
    expect(location.pathname).toBe(`/whip/${onA.id}`);
    expect(location.searchParams.get('redirect')).toBeTruthy();
    // The signed URL stands in for the stream key (which the redirect drops), for this stream only and not forged.
    const forged = new URL(location);
    forged.searchParams.set('redirect', `${location.searchParams.get('redirect')}x`);
    expect((await fetch(forged, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0' })).status).toBe(401);

    publisher = new WhipClient({ endpoint: `${node('b').url}/whip/${onA.id}`, streamKey: onA.streamKey, width: 320, height: 240, fps: 15, kbps: 300 });
    clients.push(publisher);
    await publisher.start();
    expect(publisher.session?.startsWith(`${node('a').url}/whip/${onA.id}/`), `absolute session URL on the owner: ${publisher.session}`).toBe(true);
    await waitFor('the stream live on its owner', async () => ((await (await adminFetch(`${node('a').url}/v1/streams/${onA.id}`)).json()) as { state: string }).state === 'live', 30_000);
  }, 60_000);

  it('plays on node C a stream node A owns: WHEP through the redirect, HLS and the watch page redirected to the owner', async () => {
    viewer = new WhepClient(`${node('c').url}/whep/${onA.id}`, false);
    clients.push(viewer);
    await viewer.start();
    expect(viewer.session?.startsWith(`${node('a').url}/whep/${onA.id}/`), `absolute session URL on the owner: ${viewer.session}`).toBe(true);
    await waitFor('processed frames through node C', () => viewer.accessUnits >= 10, 45_000, 200);

    const page = await fetch(`${node('c').url}/watch?stream=${onA.id}`, { redirect: 'manual' });
    expect(page.status).toBe(307);
    expect(page.headers.get('location')).toBe(`${node('a').url}/watch?stream=${onA.id}`);
    const hls = await fetch(`${node('c').url}/hls/${onA.id}/index.m3u8`, { redirect: 'manual' });
    expect(hls.status).toBe(307);
    expect(hls.headers.get('location')).toBe(`${node('a').url}/hls/${onA.id}/index.m3u8`);
    const playlist = await waitFor('the HLS playlist through node C', async () => {
      const response = await fetch(`${node('c').url}/hls/${onA.id}/index.m3u8`);
      return response.status === 200 ? response.text() : undefined;
    }, 45_000, 500);
    expect(playlist).toContain('#EXTM3U');
    // A stream no node owns is still a 404 on every node.
    expect((await fetch(`${node('c').url}/whep/no-such-stream`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0' })).status).toBe(404);
  }, 120_000);

  it('drops a killed node from GET /v1/nodes within 10 s', async () => {
    node('c').process.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor('node C gone from the registry', async () => {
      const listed = await listNodes(node('a').url);
      return listed.length === 2 && !listed.some((entry) => entry.id === nodeId('c'));
    }, 10_000, 200);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
  }, 30_000);

  it('drains node A: new streams land elsewhere, its stream keeps flowing, and it exits 0 once the stream ends', async () => {
    // B's slot is freed for the new stream.
    expect((await adminFetch(`${node('b').url}/v1/streams/${onB.id}`, { method: 'DELETE' })).status).toBe(200);
    await waitFor('node B reporting its free slot', async () => (await listNodes(node('a').url)).find((entry) => entry.id === nodeId('b'))?.freeSlots === 1, 15_000, 200);
    const drain = await adminFetch(`${node('b').url}/v1/nodes/${nodeId('a')}/drain`, { method: 'POST' });
    expect(drain.status).toBe(202);
    await waitFor('node A draining in the registry', async () => (await listNodes(node('b').url)).find((entry) => entry.id === nodeId('a'))?.state === 'draining', 15_000, 200);
    expect((await fetch(`${node('a').url}/readyz`)).status).toBe(503);
    expect((await fetch(`${node('a').url}/healthz`)).status).toBe(200);

    const later = await createThrough(node('a').url, 'after the drain');
    expect(later.node.id).toBe(nodeId('b'));
    const full = await adminFetch(`${node('a').url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'no room' }) });
    expect(full.status).toBe(503);
    expect(((await full.json()) as { error: { code: string } }).error.code).toBe('no_capacity');
    expect(full.headers.get('retry-after')).toBeTruthy();

    const before = viewer.accessUnits;
    await waitFor('frames still flowing on the draining node', () => viewer.accessUnits >= before + 15, 30_000, 200);
    expect(node('a').process.exitCode).toBeNull();

    const exited = new Promise<number | null>((resolve) => node('a').process.once('exit', (code) => resolve(code)));
    await viewer.stop();
    await publisher.stop();
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 30 s'), 30_000))]);
    expect(code).toBe(0);
  }, 120_000);

  it('answers /readyz 503 naming Redis while Redis is down, and /healthz 200', async () => {
    const b = node('b');
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
    await redis.stop();
    const notReady = await fetch(`${b.url}/readyz`);
    expect(notReady.status).toBe(503);
    const body = (await notReady.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('node_not_ready');
    expect(body.error.message).toContain('Redis');
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
    // What needs the registry says so (503), instead of failing inside.
    const listing = await adminFetch(`${b.url}/v1/nodes`);
    expect(listing.status).toBe(503);
    expect(((await listing.json()) as { error: { code: string } }).error.code).toBe('node_not_ready');
    expect((await fetch(`${b.url}/whep/not-on-this-node`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0' })).status).toBe(503);
  }, 30_000);
});

describe('a server without LIVEFX_REDIS_URL', () => {
  it('is alone: ready, listed as the only node, and creates every stream itself', async () => {
    const alone = await startServer({ LIVEFX_HTTP_RATE_PER_IP: '0' });
    try {
      const ready = await fetch(`${alone.url}/readyz`);
      expect(ready.status).toBe(200);
      const listed = await listNodes(alone.url);
      expect(listed.map((entry) => [entry.id, entry.state, entry.url])).toEqual([['local', 'serving', alone.url]]);
      const created = await createStream(alone.url, 'alone', { record: false });
      expect(created.node).toBeUndefined();
      expect((await adminFetch(`${alone.url}/v1/nodes/elsewhere/drain`, { method: 'POST' })).status).toBe(404);
    } finally {
      expect(await alone.stop()).toBe(0);
    }
  }, 60_000);
});

describe('SIGTERM on a node with LIVEFX_REDIS_URL', () => {
  it('drains: the node reports draining and keeps its open stream, then exits 0 once the stream ends', async () => {
    const ownRedis = await startRedis();
    const server = await startServer({ LIVEFX_REDIS_URL: ownRedis.url, LIVEFX_NODE_ID: nodeId('d'), LIVEFX_CPU_LIMIT: '100', LIVEFX_HTTP_RATE_PER_IP: '0' });
    try {
      const stream = await createStream(server.url, 'held open', { record: false });
      const exited = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)));
      server.process.kill('SIGTERM');
      await waitFor('the node draining', async () => (await listNodes(server.url))[0]?.state === 'draining', 15_000, 200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      // Still serving its stream: the drain waits for it.
      expect(((await (await adminFetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { state: string }).state).toBe('idle');
      expect(server.process.exitCode).toBeNull();
      expect((await adminFetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE' })).status).toBe(200);
      const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 30 s'), 30_000))]);
      expect(code).toBe(0);
    } finally {
      await server.stop('SIGKILL');
      await ownRedis.close();
    }
  }, 90_000);
});
