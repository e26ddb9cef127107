import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminFetch, createStream, startServer, waitFor, type CreatedStream, type RunningServer } from './helpers/livefx-process.js';
import { startRedis, type RunningRedis } from './helpers/redis-server.js';
import { WhipClient } from './helpers/whip-client.js';
import { WhepClient } from './helpers/whep-client.js';

// Two real nodes on one real Redis: A owns the stream and serves one WebRTC viewer at most (LIVEFX_MAX_VIEWERS=1),
// B serves two; viewers beyond A's capacity are relayed through B.
interface NodeView {
  id: string;
  state: 'serving' | 'draining';
  viewers: number;
  maxViewers: number;
  relays: number;
}

const marker = randomBytes(3).toString('hex');
const idOf = (name: 'a' | 'b'): string => `relay-${name}-${marker}`;
/** Long enough that "still there right after the last viewer left" holds on a loaded machine, short enough to wait out. */
const GRACE_S = 8;
let redis: RunningRedis;
let a: RunningServer | undefined;
let b: RunningServer | undefined;
let stream: CreatedStream;
const clients: { stop(): Promise<void> }[] = [];

async function nodeView(url: string, id: string): Promise<NodeView | undefined> {
  const response = await adminFetch(`${url}/v1/nodes`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { nodes: NodeView[] }).nodes.find((node) => node.id === id);
}

/** WebRTC sessions of the stream on its owner: its direct viewers plus one per relay subscribed to it. */
async function ownerSessions(): Promise<number> {
  const view = (await (await adminFetch(`${a!.url}/v1/streams/${stream.id}`)).json()) as { stats: { viewers: { webrtc: number } } };
  return view.stats.viewers.webrtc;
}

function whepPost(url: string): Promise<Response> {
  return fetch(`${url}/whep/${stream.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0', redirect: 'manual' });
}

beforeAll(async () => {
  redis = await startRedis();
  const common = { LIVEFX_REDIS_URL: redis.url, LIVEFX_CPU_LIMIT: '100', LIVEFX_HTTP_RATE_PER_IP: '0', LIVEFX_RELAY_GRACE_S: String(GRACE_S) };
  a = await startServer({ ...common, LIVEFX_NODE_ID: idOf('a'), LIVEFX_MAX_VIEWERS: '1' });
  b = await startServer({ ...common, LIVEFX_NODE_ID: idOf('b'), LIVEFX_MAX_VIEWERS: '2' });
  await waitFor('both nodes in the registry', async () => (await nodeView(a!.url, idOf('b'))) && (await nodeView(b!.url, idOf('a'))), 30_000, 200);
  // Created on A itself: placement ties go to the node up longest, and A is asked directly.
  stream = await createStream(a.url, 'relayed', { record: false });
  expect(stream.node?.id).toBe(idOf('a'));
  const publisher = new WhipClient({ endpoint: `${a.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240, fps: 15, kbps: 300 });
  clients.push(publisher);
  await publisher.start();
}, 120_000);

afterAll(async () => {
  for (const client of clients.reverse()) await client.stop().catch(() => undefined);
  if (stream && a) await adminFetch(`${a.url}/v1/streams/${stream.id}`, { method: 'DELETE' }).catch(() => undefined);
  // Without open streams a draining node stops at once.
  await b?.stop();
  await a?.stop();
  await redis?.close();
}, 120_000);

describe('viewers on a busy owner (LIVEFX_MAX_VIEWERS) are relayed through another node', () => {
  let relayed: WhepClient;

  it('serves the first viewer on the owner itself', async () => {
    const direct = new WhepClient(`${a!.url}/whep/${stream.id}`, false);
    clients.push(direct);
    await direct.start();
    expect(direct.session?.startsWith(`${a!.url}/whep/${stream.id}/`), `session on the owner: ${direct.session}`).toBe(true);
    await waitFor('frames on the direct viewer', () => direct.accessUnits >= 10, 45_000, 200);
    await waitFor('the owner reporting its one viewer (full)', async () => (await nodeView(b!.url, idOf('a')))?.viewers === 1, 15_000, 200);
    expect((await nodeView(b!.url, idOf('a')))?.maxViewers).toBe(1);
  }, 90_000);

  it('serves a second viewer asked on node B from B (a relay of the owner), with frames', async () => {
    relayed = new WhepClient(`${b!.url}/whep/${stream.id}`, false);
    clients.push(relayed);
    await relayed.start();
    // No redirect: the session lives on B.
    expect(relayed.session?.startsWith(`${b!.url}/whep/${stream.id}/`), `session on the relay node: ${relayed.session}`).toBe(true);
    await waitFor('frames through the relay', () => relayed.accessUnits >= 10, 45_000, 200);
    const onB = await nodeView(b!.url, idOf('b'));
    expect(onB).toMatchObject({ viewers: 1, relays: 1 });
  }, 90_000);

  it('serves two relayed viewers from one subscription to the owner, and GET /v1/nodes shows the counts', async () => {
    const second = new WhepClient(`${b!.url}/whep/${stream.id}`, false);
    clients.push(second);
    await second.start();
    expect(second.session?.startsWith(`${b!.url}/whep/${stream.id}/`)).toBe(true);
    await waitFor('frames on the second relayed viewer', () => second.accessUnits >= 10, 45_000, 200);
    // The owner serves its direct viewer and one relay subscription, however many viewers B relays.
    expect(await ownerSessions()).toBe(2);
    expect(await nodeView(b!.url, idOf('b'))).toMatchObject({ viewers: 2, relays: 1 });
    await waitFor('node A seeing B\'s two relayed viewers', async () => (await nodeView(a!.url, idOf('b')))?.viewers === 2, 15_000, 200);
    const metrics = await (await adminFetch(`${a!.url}/metrics`)).text();
    expect(metrics).toContain(`livefx_node_relays{node="${idOf('b')}"} 1`);
  }, 90_000);

  it('answers 503 no_capacity with Retry-After when every node is full', async () => {
    for (const url of [a!.url, b!.url]) {
      const refused = await whepPost(url);
      expect(refused.status, `POST /whep on ${url}`).toBe(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('no_capacity');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  }, 30_000);

  it('sends a viewer who reaches the full owner directly to a node with room, which relays (307 with a relay token)', async () => {
    const second = clients.pop() as WhepClient;
    await second.stop();
    await waitFor('node B reporting room again', async () => (await nodeView(a!.url, idOf('b')))?.viewers === 1, 15_000, 200);
    const redirect = await whepPost(a!.url);
    expect(redirect.status).toBe(307);
    const location = new URL(redirect.headers.get('location')!);
    expect(location.origin).toBe(b!.url);
    expect(location.pathname).toBe(`/whep/${stream.id}`);
    expect(location.searchParams.get('redirect')).toMatch(/^relay\./);
    const followed = new WhepClient(`${a!.url}/whep/${stream.id}`, false);
    clients.push(followed);
    await followed.start();
    expect(followed.session?.startsWith(`${b!.url}/whep/${stream.id}/`), `session on the relay node: ${followed.session}`).toBe(true);
    await waitFor('frames on the viewer sent to the relay', () => followed.accessUnits >= 10, 45_000, 200);
    expect(await ownerSessions()).toBe(2);
  }, 90_000);

  it('keeps the subscription for the grace period after the last relayed viewer leaves, then gives it back', async () => {
    const followed = clients.pop() as WhepClient;
    await followed.stop();
    await relayed.stop();
    const leftAt = Date.now();
    const right = await nodeView(b!.url, idOf('b'));
    expect(right, 'the relay kept during the grace period').toMatchObject({ viewers: 0, relays: 1 });
    expect(Date.now() - leftAt, 'checked well within the grace period').toBeLessThan(GRACE_S * 1000);
    await waitFor('the relay gone after the grace period', async () => (await nodeView(b!.url, idOf('b')))?.relays === 0, GRACE_S * 1000 + 30_000, 250);
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(GRACE_S * 1000 - 3000);
    await waitFor('the owner serving its direct viewer alone', async () => (await ownerSessions()) === 1, 15_000, 250);
  }, 90_000);

  it('a draining relay node takes no new relayed viewer, serves the ones it has to the end, then exits 0', async () => {
    const kept = new WhepClient(`${b!.url}/whep/${stream.id}`, false);
    clients.push(kept);
    await kept.start();
    expect(kept.session?.startsWith(`${b!.url}/whep/${stream.id}/`), `session on the relay node: ${kept.session}`).toBe(true);
    await waitFor('frames through the relay', () => kept.accessUnits >= 10, 45_000, 200);

    expect((await adminFetch(`${a!.url}/v1/nodes/${idOf('b')}/drain`, { method: 'POST' })).status).toBe(202);
    await waitFor('node B draining in the registry', async () => (await nodeView(a!.url, idOf('b')))?.state === 'draining', 15_000, 200);
    // B has room for a viewer, but relays none while it drains; the full owner finds no serving node with room either.
    for (const url of [b!.url, a!.url]) {
      const refused = await whepPost(url);
      expect(refused.status, `POST /whep on ${url}`).toBe(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('no_capacity');
    }
    const before = kept.accessUnits;
    await waitFor('frames still flowing through the draining relay', () => kept.accessUnits >= before + 15, 30_000, 200);
    expect(b!.process.exitCode, 'B waits for its relayed viewer').toBeNull();

    clients.splice(clients.indexOf(kept), 1);
    await kept.stop();
    const code = await waitFor('node B exiting once its last relayed viewer left', () => b!.process.exitCode ?? undefined, 30_000, 200);
    expect(code).toBe(0);
  }, 120_000);
});

describe('LIVEFX_MAX_VIEWERS on a server alone (no LIVEFX_REDIS_URL)', () => {
  it('serves viewers up to the limit, then answers 503 no_capacity with Retry-After', async () => {
    const alone = await startServer({ LIVEFX_HTTP_RATE_PER_IP: '0', LIVEFX_MAX_VIEWERS: '1' });
    let first: WhepClient | undefined;
    try {
      const created = await createStream(alone.url, 'one viewer at most', { record: false });
      first = new WhepClient(`${alone.url}/whep/${created.id}`, false);
      await first.start();
      expect(((await (await adminFetch(`${alone.url}/v1/streams/${created.id}`)).json()) as { stats: { viewers: { webrtc: number } } }).stats.viewers.webrtc).toBe(1);
      const refused = await fetch(`${alone.url}/whep/${created.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0' });
      expect(refused.status).toBe(503);
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('no_capacity');
      expect(body.error.message).toContain('LIVEFX_MAX_VIEWERS');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await first?.stop().catch(() => undefined);
      expect(await alone.stop()).toBe(0);
    }
  }, 60_000);
});
