import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goLive, openIsolatedPage, waitForAdvancingFrames } from './helpers/browser-pages.js';
import { launchChromium } from './helpers/chromium.js';
import { adminFetch, createStream, startServer, waitFor, type CreatedStream, type RunningServer } from './helpers/livefx-process.js';
import { startRedis, type RunningRedis } from './helpers/redis-server.js';
import { WhipClient } from './helpers/whip-client.js';
import { WhepClient } from './helpers/whep-client.js';
import { trackedSocket } from './helpers/test-lifecycle.js';
import type { Socket } from 'socket.io-client';

// Three real nodes on one real Redis, one processing slot each, serving viewers of each other's streams
// (LIVEFX_CLUSTER_VIEWERS=serve, the default); a Chromium publisher on node A and Chromium viewers on node C.
const marker = randomBytes(3).toString('hex');
const nodeId = (name: string): string => `${name}-${marker}`;
let redis: RunningRedis;
let browser: Browser;
const nodes: Record<'a' | 'b' | 'c', RunningServer | undefined> = { a: undefined, b: undefined, c: undefined };
const clients: { stop(): Promise<void> }[] = [];
const pageErrors: string[] = [];
const sockets: Socket[] = [];
const node = (name: 'a' | 'b' | 'c'): RunningServer => nodes[name]!;

beforeAll(async () => {
  redis = await startRedis();
  for (const name of ['a', 'b', 'c'] as const) {
    // CPU limit 100: this loaded 2-core machine must not make every node look full.
    nodes[name] = await startServer({ LIVEFX_REDIS_URL: redis.url, LIVEFX_NODE_ID: nodeId(name), LIVEFX_MAX_STREAMS: '1', LIVEFX_CPU_LIMIT: '100', LIVEFX_HTTP_RATE_PER_IP: '0' });
  }
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const socket of sockets) socket.close();
  for (const client of clients) await client.stop().catch(() => undefined);
  for (const server of Object.values(nodes)) {
    if (!server) continue;
    // The node killed with -9 has nothing left to stop; its data folder is removed here.
    if (server.process.signalCode !== null || server.process.exitCode !== null) {
      await rm(server.dataDir, { recursive: true, force: true });
      continue;
    }
    const listed = (await (await adminFetch(`${server.url}/v1/streams`)).json().catch(() => ({}))) as { streams?: { id: string }[] };
    for (const stream of listed.streams ?? []) await adminFetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE' }).catch(() => undefined);
    await server.stop();
  }
  await redis?.close();
}, 120_000);

/** A metric's value in a /metrics text (0 when the series is absent). */
async function metric(url: string, series: string): Promise<number> {
  const text = await (await adminFetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const streamState = async (url: string, id: string): Promise<{ status: number; state?: string; code?: string }> => {
  const response = await adminFetch(`${url}/v1/streams/${id}`);
  const body = (await response.json()) as { state?: string; error?: { code: string } };
  return { status: response.status, ...(body.state ? { state: body.state } : {}), ...(body.error ? { code: body.error.code } : {}) };
};

describe('viewers on any node, and the owner killed (LIVEFX_REDIS_URL)', () => {
  let stream: CreatedStream;
  let publisher: Page;
  let hlsViewer: Page;
  let liveSocket: Socket;
  const socketStates: { state: string; atMs: number }[] = [];

  it('serves HLS and the state of a stream node A owns from node C: playlists pass through (LL-HLS blocking reload too), a segment fetched twice reaches node A once', async () => {
    stream = await createStream(node('a').url, 'published on A', { record: false });
    expect(stream.node?.id).toBe(nodeId('a'));
    publisher = await browser.newPage();
    publisher.on('pageerror', (error) => pageErrors.push(`publisher: ${error.message}`));
    await goLive(publisher, `${node('a').url}${stream.urls.publish!}&source=pattern`);
    // Node C answers for the stream with its owner's view, and its /live namespace follows it.
    expect(await streamState(node('c').url, stream.id)).toEqual({ status: 200, state: 'live' });
    liveSocket = trackedSocket(sockets, `${node('c').url}/live`);
    liveSocket.on('state', (message: { streamId: string; state: string }) => message.streamId === stream.id && socketStates.push({ state: message.state, atMs: Date.now() }));
    const subscribed = (await liveSocket.timeout(10_000).emitWithAck('subscribe', { streamId: stream.id })) as { ok: boolean; stream?: { id: string; state: string } };
    expect(subscribed).toMatchObject({ ok: true, stream: { id: stream.id, state: 'live' } });

    // The low-latency playlist players use: a whole segment (ll-N.m4s) through node C.
    const playlist = await waitFor('a whole segment in the LL-HLS playlist through node C', async () => {
      const response = await fetch(`${node('c').url}/hls/${stream.id}/ll.m3u8`, { redirect: 'manual' });
      const text = response.status === 200 ? await response.text() : '';
      return /^ll-\d+\.m4s$/m.test(text) ? text : undefined;
    }, 90_000, 500);
    expect(playlist).toContain('#EXTM3U');
    const segment = /^(ll-\d+\.m4s)$/m.exec(playlist)![1]!;
    const first = await fetch(`${node('c').url}/hls/${stream.id}/${segment}`, { redirect: 'manual' });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await first.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(1000);

    const hits = await metric(node('c').url, 'livefx_hls_proxy_files_total{cache="hit"}');
    const misses = await metric(node('c').url, 'livefx_hls_proxy_files_total{cache="miss"}');
    const again = Buffer.from(await (await fetch(`${node('c').url}/hls/${stream.id}/${segment}`)).arrayBuffer());
    expect(again.equals(bytes)).toBe(true);
    expect(await metric(node('c').url, 'livefx_hls_proxy_files_total{cache="hit"}')).toBe(hits + 1);
    expect(await metric(node('c').url, 'livefx_hls_proxy_files_total{cache="miss"}')).toBe(misses);

    // A blocking reload for the next part is held on the owner until that part exists, and answered through C.
    const low = await (await fetch(`${node('c').url}/hls/${stream.id}/ll.m3u8`)).text();
    const parts = [...low.matchAll(/ll-(\d+)\.(\d+)\.m4s/g)].map((match) => Number(match[1]));
    expect(parts.length).toBeGreaterThan(0);
    const next = Math.max(...parts) + 1;
    const blocked = await fetch(`${node('c').url}/hls/${stream.id}/ll.m3u8?_HLS_msn=${next}&_HLS_part=0`);
    expect(blocked.status).toBe(200);
    expect(await blocked.text()).toContain(`ll-${next}.0.m4s`);
    // A file name the muxer never writes is refused on C without asking the owner.
    expect((await fetch(`${node('c').url}/hls/${stream.id}/..%2Fsecret`)).status).toBe(404);
  }, 180_000);

  it('plays the stream published from the Chromium page on node A in Chromium watch pages opened on node C: WebRTC through the 307, and HLS', async () => {
    // The HLS viewer's page exists from here on (the next test kills the node of its stream); it plays after the WebRTC one, one video at a time on this 2-core machine.
    hlsViewer = await (await browser.newContext()).newPage();
    hlsViewer.on('pageerror', (error) => pageErrors.push(`HLS viewer: ${error.message}`));
    // The watch page stays on C (not redirected): its WHEP POST gets a 307 to A, which the page's fetch follows.
    const webrtcViewer = await openIsolatedPage(browser, node('c').url, stream.urls.watch!, pageErrors);
    expect(new URL(webrtcViewer.url()).origin).toBe(node('c').url);
    const webrtc = await waitForAdvancingFrames(webrtcViewer, 30, 45_000);
    expect(webrtc.mode).toBe('webrtc');
    expect(webrtc.state).toBe('live');
    // One video at a time: this 2-core machine also runs the publisher page and three nodes.
    await webrtcViewer.context().close();

    await hlsViewer.goto(`${node('c').url}${stream.urls.watchHls!}`);
    const hls = await waitForAdvancingFrames(hlsViewer, 30, 60_000);
    expect(hls.mode).toBe('hls');
    // Relative: every playlist, segment and part comes from node C.
    expect(hls.hlsUrl).toMatch(new RegExp(`^/hls/${stream.id}/`));

    expect(pageErrors).toEqual([]);
  }, 150_000);

  it('ends the stream for viewers on node C within 10 s of node A being killed with -9; a live node then answers 404 for it', async () => {
    // A socket subscribed on C just before the kill: C then trusts A as the owner for a while (its owner cache), which must not fail the reload after the takeover.
    const late = trackedSocket(sockets, `${node('c').url}/live`);
    expect(await late.timeout(10_000).emitWithAck('subscribe', { streamId: stream.id })).toMatchObject({ ok: true });
    node('a').process.kill('SIGKILL');
    const killedAt = Date.now();
    await hlsViewer.waitForFunction(() => (window as unknown as { livefxViewer: { state: string } }).livefxViewer.state === 'ended', null, { timeout: 30_000 });
    expect(Date.now() - killedAt, 'the HLS watch page on C says the stream ended').toBeLessThan(10_000);
    expect(await hlsViewer.getByTestId('ended').textContent()).toBe('stream ended');
    expect(socketStates.map((entry) => entry.state)).toEqual(['ended']);
    expect(socketStates[0]!.atMs - killedAt, '`state: ended` on the /live socket on C').toBeLessThan(10_000);
    for (const name of ['b', 'c'] as const) {
      await waitFor(`stream_not_found on node ${name}`, async () => (await streamState(node(name).url, stream.id)).code === 'stream_not_found', 15_000, 200);
    }
  }, 60_000);

  it('takes the stream over on the node a republishing WHIP client reaches, and viewers reconnecting through node C play it there', async () => {
    // The dead node's claim lapses within seconds of its heartbeat's: until then the node refuses with 503 and the publisher tries again.
    const republisher = await waitFor('the republish accepted by node B', async () => {
      const client = new WhipClient({ endpoint: `${node('b').url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240, fps: 15, kbps: 300 });
      try {
        await client.start();
        return client;
      } catch (error) {
        await client.stop().catch(() => undefined);
        throw error;
      }
    }, 30_000, 500);
    clients.push(republisher);
    expect(republisher.session?.startsWith(`${node('b').url}/whip/${stream.id}/`), `session on node B: ${republisher.session}`).toBe(true);
    await waitFor('the stream live on node B', async () => (await streamState(node('b').url, stream.id)).state === 'live', 30_000, 200);
    expect(await streamState(node('c').url, stream.id)).toEqual({ status: 200, state: 'live' });
    // The wrong key takes nothing over, and a live stream is not taken twice.
    expect((await fetch(`${node('c').url}/whip/${stream.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: 'Bearer wrong' }, body: 'v=0', redirect: 'manual' })).status).toBe(401);

    // A plain WHEP client on C follows the 307 to the new owner.
    const viewer = new WhepClient(`${node('c').url}/whep/${stream.id}`, false);
    clients.push(viewer);
    await viewer.start();
    expect(viewer.session?.startsWith(`${node('b').url}/whep/${stream.id}/`), `session on node B: ${viewer.session}`).toBe(true);
    await waitFor('processed frames from node B', () => viewer.accessUnits >= 10, 45_000, 200);
    await viewer.stop();

    // The watch page reloaded on C plays it from B.
    await hlsViewer.goto(`${node('c').url}${stream.urls.watch!}`);
    const again = await waitForAdvancingFrames(hlsViewer, 30, 45_000);
    expect(again.mode).toBe('webrtc');
    expect(again.state).toBe('live');
    expect(pageErrors).toEqual([]);
  }, 150_000);
});
