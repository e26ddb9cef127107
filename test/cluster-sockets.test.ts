import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, adminFetch, createStream, startServer, waitFor, type CreatedStream, type RunningServer } from './helpers/livefx-process.js';
import { startRedis, type RunningRedis } from './helpers/redis-server.js';

// socket.io across three real nodes sharing one real Redis: chat, viewer counts, operator changes, bans and rate limits.
type NodeName = 'a' | 'b' | 'c' | 'd';
interface ChatMessage {
  id: string;
  user: string;
  text: string;
}

const marker = randomBytes(3).toString('hex');
let redis: RunningRedis;
const nodes: Partial<Record<NodeName, RunningServer>> = {};
const sockets: Socket[] = [];
let stream: CreatedStream & { node?: { id: string; url: string } };

const node = (name: NodeName): RunningServer => nodes[name]!;
const ask = (socket: Socket, event: string, message: unknown): Promise<any> => socket.timeout(20_000).emitWithAck(event, message);

/** A socket.io client on one node's namespace (websocket only, as the pages connect). */
function connect(name: NodeName, namespace: '/audience' | '/live' | '/operator', auth: Record<string, string> = {}): Socket {
  const socket = io(`${node(name).url}${namespace}`, { transports: ['websocket'], auth, reconnection: false });
  sockets.push(socket);
  return socket;
}

/** A viewer in the stream's chat on a node, with a display name (and a viewer id, to be banned by). */
async function viewer(name: NodeName, user: string, viewerId = `viewer-${user}-${marker}-0000`): Promise<{ socket: Socket; seen: ChatMessage[] }> {
  const socket = connect(name, '/audience', { viewerId });
  const seen: ChatMessage[] = [];
  socket.on('chat', (message: ChatMessage) => seen.push(message));
  const ack = await ask(socket, 'join', { streamId: stream.id, name: user });
  expect(ack.ok, JSON.stringify(ack)).toBe(true);
  return { socket, seen };
}

/** A `/live` page on a node, subscribed to the stream. */
async function livePage(name: NodeName): Promise<Socket> {
  const socket = connect(name, '/live');
  const ack = await ask(socket, 'subscribe', { streamId: stream.id });
  expect(ack.ok, JSON.stringify(ack)).toBe(true);
  expect(ack.stream.id).toBe(stream.id);
  return socket;
}

const texts = (seen: ChatMessage[]): string[] => seen.map((message) => message.text);

function startNode(name: NodeName): Promise<RunningServer> {
  // Three messages at once, then one a minute: a rate limit a slow machine cannot refill during a test.
  return startServer({ LIVEFX_REDIS_URL: redis.url, LIVEFX_NODE_ID: `${name}-${marker}`, LIVEFX_CPU_LIMIT: '100', LIVEFX_HTTP_RATE_PER_IP: '0', LIVEFX_CHAT_BURST: '3', LIVEFX_CHAT_PER_MIN: '1' });
}

beforeAll(async () => {
  redis = await startRedis({ debugCommand: true });
  for (const name of ['a', 'b', 'c'] as const) nodes[name] = await startNode(name);
  stream = await createStream(node('a').url, 'sockets across nodes', { record: false });
}, 180_000);

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  for (const server of Object.values(nodes)) {
    if (!server || server.process.exitCode !== null || server.process.signalCode !== null) continue;
    const listed = (await (await adminFetch(`${server.url}/v1/streams`)).json().catch(() => ({}))) as { streams?: { id: string }[] };
    for (const open of listed.streams ?? []) await adminFetch(`${server.url}/v1/streams/${open.id}`, { method: 'DELETE' }).catch(() => undefined);
    await server.stop();
  }
  await redis?.close();
}, 120_000);

describe('socket.io across nodes (LIVEFX_REDIS_URL)', () => {
  it('places the stream on node A', () => {
    expect(stream.node?.id).toBe(`a-${marker}`);
  });

  it('delivers chat sent on node A to a viewer on node C and back, once each, and gives a page joining on B the history', async () => {
    const ann = await viewer('a', 'Ann');
    const cid = await viewer('c', 'Cid');
    expect((await ask(ann.socket, 'chat', { streamId: stream.id, text: 'hello from A' })).ok).toBe(true);
    await waitFor('the message from A on C', () => texts(cid.seen).includes('hello from A'), 30_000);
    expect((await ask(cid.socket, 'chat', { streamId: stream.id, text: 'hello from C' })).ok).toBe(true);
    await waitFor('the message from C on A', () => texts(ann.seen).includes('hello from C'), 30_000);
    // Both saw both, in one copy each (the audience bus, not the adapter too).
    await waitFor('both messages on both nodes', () => texts(ann.seen).length >= 2 && texts(cid.seen).length >= 2, 30_000);
    expect(texts(ann.seen)).toEqual(['hello from A', 'hello from C']);
    expect(texts(cid.seen)).toEqual(['hello from A', 'hello from C']);

    const late = connect('b', '/audience');
    const watched = await ask(late, 'watch-chat', { streamId: stream.id });
    expect(watched.ok).toBe(true);
    expect(texts(watched.history)).toEqual(['hello from A', 'hello from C']);
    // A stream no node owns is refused on every node.
    expect((await ask(late, 'watch-chat', { streamId: 'no-such-stream' })).error.code).toBe('not_found');
  }, 90_000);

  it('adds up HLS viewers whose pages are on different nodes, on the owner and in every node\'s stats', async () => {
    const onC = await livePage('c');
    let lastHls = -1;
    onC.on('stats', (message: { streamId: string; stats: { viewers: { hls: number } } }) => (lastHls = message.stats.viewers.hls));
    const watchers = [connect('a', '/live'), connect('b', '/live'), connect('c', '/live')];
    for (const watcher of watchers) expect((await ask(watcher, 'watching', { streamId: stream.id, mode: 'hls' })).ok).toBe(true);
    await waitFor('3 HLS viewers in the stats a page on C gets', () => lastHls === 3, 30_000);
    const view = async (): Promise<{ stats: { viewers: { hls: number } } }> => (await adminFetch(`${node('a').url}/v1/streams/${stream.id}`)).json() as never;
    expect((await view()).stats.viewers.hls).toBe(3);
    watchers[1]!.disconnect();
    await waitFor('2 HLS viewers once the page on B has gone', () => lastHls === 2, 30_000);
    expect((await view()).stats.viewers.hls).toBe(2);
  }, 90_000);

  it('applies an operator change made on node C on the owner A, and pages on A and B get the new chain', async () => {
    const onA = await livePage('a');
    const onB = await livePage('b');
    const chainsOn = (socket: Socket): unknown[] => {
      const chains: unknown[] = [];
      socket.on('chain', (message: { streamId: string; chain: unknown }) => chains.push(message.chain));
      return chains;
    };
    const seenOnA = chainsOn(onA);
    const seenOnB = chainsOn(onB);
    const consoleOnB = connect('b', '/operator', { token: ADMIN_TOKEN });
    expect((await ask(consoleOnB, 'join', { streamId: stream.id })).ok).toBe(true);
    const seenByConsole = chainsOn(consoleOnB);

    const operator = connect('c', '/operator', { token: ADMIN_TOKEN });
    const joined = await ask(operator, 'join', { streamId: stream.id });
    expect(joined.ok, JSON.stringify(joined)).toBe(true);
    expect(Array.isArray(joined.chain.transforms)).toBe(true);
    const spec = { transforms: [{ name: 'color', params: { saturation: 1.5 } }] };
    const changed = await ask(operator, 'set-chain', { streamId: stream.id, spec });
    expect(changed.ok, JSON.stringify(changed)).toBe(true);
    expect(changed.chain.transforms[0]).toMatchObject({ name: 'color', params: { saturation: 1.5 } });
    await waitFor('the chain on pages on A and B and a console on B', () => seenOnA.length > 0 && seenOnB.length > 0 && seenByConsole.length > 0, 30_000);
    expect(seenOnA[0]).toEqual(changed.chain);
    expect(seenOnB[0]).toEqual(changed.chain);
    const onOwner = await (await adminFetch(`${node('a').url}/v1/streams/${stream.id}/transforms`)).json();
    expect(onOwner).toEqual(changed.chain);
    // The owner's refusal comes back as it is.
    const invalid = await ask(operator, 'set-chain', { streamId: stream.id, spec: { transforms: [{ name: 'color', params: { saturation: 9 } }] } });
    expect(invalid.error.code).toBe('invalid_chain');

    // The /v1 chain API on a node that does not own the stream passes the change on too.
    const patched = await adminFetch(`${node('b').url}/v1/streams/${stream.id}/transforms/0`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled: false }) });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { transforms: { enabled: boolean }[] }).transforms[0]!.enabled).toBe(false);
    await waitFor('the patched chain on the page on A', () => seenOnA.length >= 2, 30_000);
    expect(((await (await adminFetch(`${node('a').url}/v1/streams/${stream.id}/transforms`)).json()) as { transforms: { enabled: boolean }[] }).transforms[0]!.enabled).toBe(false);
  }, 90_000);

  it('holds a ban made through node B on node A and node C', async () => {
    const viewerId = `banned-viewer-${marker}-0000`;
    const onA = await viewer('a', 'Vic', viewerId);
    const onC = await viewer('c', 'Vic', viewerId);
    const noticed: string[] = [];
    for (const [name, page] of [['a', onA], ['c', onC]] as const) page.socket.on('banned', () => noticed.push(name));
    // The HTTP moderation API on a node that does not own the stream passes the action on too.
    let mutedOnA = false;
    onA.socket.on('muted', () => (mutedOnA = true));
    const moderate = (name: NodeName, action: string, body: unknown): Promise<Response> =>
      adminFetch(`${node(name).url}/v1/streams/${stream.id}/moderation/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const muted = await moderate('c', 'mute-viewer', { viewerId, seconds: 600 });
    expect(muted.status).toBe(200);
    expect(((await muted.json()) as { mutes: { viewerId: string }[] }).mutes.map((mute) => mute.viewerId)).toEqual([viewerId]);
    await waitFor('the muted notice on A', () => mutedOnA, 30_000);
    expect((await ask(onC.socket, 'chat', { streamId: stream.id, text: 'still here' })).error.code).toBe('muted');
    expect((await moderate('b', 'unmute-viewer', { viewerId })).status).toBe(200);
    const moderator = connect('b', '/operator', { token: ADMIN_TOKEN });
    const banned = await ask(moderator, 'ban-viewer', { streamId: stream.id, viewerId, reason: 'spam' });
    expect(banned.ok, JSON.stringify(banned)).toBe(true);
    expect(banned.ban).toMatchObject({ viewerId, user: 'Vic', reason: 'spam' });
    await waitFor('the banned notice on A and C', () => noticed.length === 2, 30_000);
    for (const name of ['a', 'c'] as const) {
      const again = connect(name, '/audience', { viewerId });
      const refused = await ask(again, 'join', { streamId: stream.id, name: 'Vic' });
      expect(refused.ok).toBe(false);
      expect(refused.error.code).toBe('banned');
      expect(refused.error.message).toContain('spam');
    }
    // The moderation view on any node lists it.
    const view = await ask(moderator, 'watch-moderation', { streamId: stream.id });
    expect(view.bans.map((ban: { viewerId: string }) => ban.viewerId)).toContain(viewerId);
    // A node started after the ban knows it too (it replays the audience bus).
    nodes.d = await startNode('d');
    const onD = await ask(connect('d', '/audience', { viewerId }), 'join', { streamId: stream.id, name: 'Vic' });
    expect(onD.ok, JSON.stringify(onD)).toBe(false);
    expect(onD.error.code).toBe('banned');
    // Lifted through B, it is lifted on C (and new viewers from the banned viewer's address get in again).
    expect((await ask(moderator, 'unban-viewer', { streamId: stream.id, viewerId })).ok).toBe(true);
    await waitFor('the ban lifted on C', async () => (await ask(connect('c', '/audience', { viewerId }), 'join', { streamId: stream.id, name: 'Vic' })).ok, 30_000, 200);
    await waitFor('the ban lifted on D', async () => (await ask(connect('d', '/audience', { viewerId }), 'join', { streamId: stream.id, name: 'Vic' })).ok, 30_000, 200);
    // The late node has the chat history too.
    const history = await ask(connect('d', '/audience'), 'watch-chat', { streamId: stream.id });
    expect(texts(history.history)).toContain('hello from A');
    await node('d').stop();
  }, 150_000);

  it('counts chat rate limits across nodes: a viewer on A and C together gets one allowance', async () => {
    const viewerId = `rate-viewer-${marker}-0000`;
    const onA = await viewer('a', 'Rae', viewerId);
    const onC = await viewer('c', 'Rae', viewerId);
    const answers: any[] = [];
    for (let index = 0; index < 6; index += 1) {
      const page = index % 2 === 0 ? onA : onC;
      answers.push(await ask(page.socket, 'chat', { streamId: stream.id, text: `rae ${index}` }));
    }
    // A burst of 3, then one a minute: three accepted in all, not three per node.
    expect(answers.map((answer) => answer.ok)).toEqual([true, true, true, false, false, false]);
    expect(answers[3].error.code).toBe('rate_limited');
  }, 60_000);

  it('loses no chat message sent while Redis is paused for 5 s (DEBUG SLEEP) or after it returns', async () => {
    const reader = await viewer('c', 'Zed');
    const senders = await Promise.all(['Pa', 'Pb', 'Pc'].map((user) => viewer('a', user)));
    const sendThree = (index: number): Promise<any[]> =>
      Promise.all([0, 1, 2].map((message) => ask(senders[index]!.socket, 'chat', { streamId: stream.id, text: `pause ${index}.${message}` })));
    expect((await sendThree(0)).every((answer) => answer.ok)).toBe(true);

    const control = new Redis(redis.url, { maxRetriesPerRequest: null });
    const probe = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      await Promise.all([control.ping(), probe.ping()]);
      const paused = control.call('DEBUG', 'SLEEP', '5');
      paused.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The pause has begun: a second client gets no answer to PING.
      const pong = probe.ping();
      pong.catch(() => undefined);
      const answeredAt = await Promise.race([pong.then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 500))]);
      expect(answeredAt).toBe('waiting');
      const during = sendThree(1);
      await paused;
      await pong;
      expect((await during).every((answer) => answer.ok)).toBe(true);
      expect((await sendThree(2)).every((answer) => answer.ok)).toBe(true);
    } finally {
      control.disconnect();
      probe.disconnect();
    }
    const expected = [0, 1, 2].flatMap((index) => [0, 1, 2].map((message) => `pause ${index}.${message}`));
    await waitFor('all nine messages on node C', () => expected.every((text) => texts(reader.seen).includes(text)), 60_000);
    for (const text of expected) expect(texts(reader.seen).filter((seen) => seen === text)).toHaveLength(1);
  }, 120_000);

  it('refuses an operator change clearly once the owner is gone', async () => {
    node('a').process.kill('SIGKILL');
    const operator = connect('c', '/operator', { token: ADMIN_TOKEN });
    const refused = await ask(operator, 'set-chain', { streamId: stream.id, spec: { transforms: [] } });
    expect(refused.ok).toBe(false);
    // While its records last (6 s) the owner is unreachable; then the stream is gone everywhere.
    expect(['owner_unreachable', 'not_found']).toContain(refused.error.code);
    expect(refused.error.message).toContain(stream.id);
    await waitFor('not_found once the owner\'s records lapse', async () => (await ask(operator, 'set-chain', { streamId: stream.id, spec: { transforms: [] } })).error?.code === 'not_found', 30_000, 500);
  }, 90_000);
});
