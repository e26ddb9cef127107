import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { WhipClient } from './helpers/whip-client.js';
import { ADMIN_TOKEN, adminApi, createStreamAsAdmin } from './helpers/admin-api.js';

interface ChatMessage {
  id: string;
  user: string;
  text: string;
  at: number;
}

let server: RunningServer;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startServer({ LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_MEDIA_TIMEOUT_S: '3' });
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server?.stop();
});

const newViewerId = (): string => randomBytes(12).toString('base64url');

const api = (route: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> => adminApi(server.url, route, init);
const createStream = (title: string): Promise<{ id: string; streamKey: string }> => createStreamAsAdmin(server.url, title);

/** Who the server says acted: "operator" today; the role of the admin token once access control sets one. */
const ACTOR = expect.stringMatching(/^(operator|admin)$/);

/**
 * A viewer's page: its own viewer id (as the watch page keeps in localStorage; null: none), optionally
 * from another loopback address. No admin token here: viewers have none, and admins are never muted or banned.
 */
function viewerSocket(viewerId: string | null = newViewerId(), localAddress?: string): Socket {
  const socket = io(`${server.url}/audience`, {
    auth: viewerId ? { viewerId } : {},
    transports: ['websocket'],
    forceNew: true,
    ...(localAddress ? { localAddress } : {}),
  } as Parameters<typeof io>[1]);
  sockets.push(socket);
  return socket;
}

function operatorSocket(): Socket {
  const socket = io(`${server.url}/operator`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'], forceNew: true });
  sockets.push(socket);
  return socket;
}

const ask = (socket: Socket, event: string, message: unknown): Promise<any> => socket.timeout(5000).emitWithAck(event, message);

async function joined(streamId: string, name: string, viewerId: string = newViewerId(), localAddress?: string): Promise<Socket> {
  const socket = viewerSocket(viewerId, localAddress);
  const ack = await ask(socket, 'join', { streamId, name });
  expect(ack, `${name} joins`).toMatchObject({ ok: true });
  return socket;
}

async function say(socket: Socket, streamId: string, text: string): Promise<ChatMessage> {
  const ack = await ask(socket, 'chat', { streamId, text });
  expect(ack, `chat "${text}"`).toMatchObject({ ok: true });
  return ack.message as ChatMessage;
}

async function recordingEvents(recordingId: string): Promise<any[]> {
  const { body } = await api(`/v1/recordings/${recordingId}/events`);
  return String(body).split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

describe('chat moderation', () => {
  it('an operator removes a message: it leaves every chat and the history, and the recording keeps it marked removed beside a moderation event', async () => {
    const stream = await createStream('moderated show');
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    await publisher.start();
    try {
      const recording = await waitFor('a recording in progress', async () => (await api(`/v1/recordings?streamId=${stream.id}`)).body.recordings[0]);
      const aliceId = newViewerId();
      const alice = await joined(stream.id, 'Alice', aliceId);
      const bob = await joined(stream.id, 'Bob');
      const removedSeen: { bob: unknown[]; alice: unknown[] } = { bob: [], alice: [] };
      bob.on('chat-removed', (message) => removedSeen.bob.push(message));
      alice.on('chat-removed', (message) => removedSeen.alice.push(message));
      const bobChat: any[] = [];
      bob.on('chat', (message) => bobChat.push(message));

      const console = operatorSocket();
      const watched = await ask(console, 'watch-moderation', { streamId: stream.id });
      expect(watched).toEqual({ ok: true, chat: [], bans: [], mutes: [] });
      const consoleChat: any[] = [];
      console.on('chat', (message) => consoleChat.push(message));
      const consoleModeration: any[] = [];
      console.on('moderation', (update) => consoleModeration.push(update));

      const spam = await say(alice, stream.id, 'buy followers at example.test');
      const kept = await say(alice, stream.id, 'nice stream');
      // Operators see who wrote what (the viewer id); viewers never see another viewer's id.
      await waitFor('the console feed', () => consoleChat.length === 2);
      expect(consoleChat[0]).toMatchObject({ streamId: stream.id, id: spam.id, user: 'Alice', text: 'buy followers at example.test', viewerId: aliceId });
      await waitFor("Bob's feed", () => bobChat.length === 2);
      expect(Object.keys(bobChat[0]).sort()).toEqual(['at', 'id', 'streamId', 'text', 'user']);

      const removed = await ask(console, 'remove-chat', { streamId: stream.id, messageId: spam.id, reason: 'spam' });
      expect(removed).toEqual({ ok: true, messageId: spam.id, alreadyRemoved: false });
      await waitFor('the removal on both pages', () => removedSeen.bob.length === 1 && removedSeen.alice.length === 1);
      expect(removedSeen.bob[0]).toEqual({ streamId: stream.id, messageId: spam.id });
      await waitFor('the console told', () => consoleModeration.length === 1);
      expect(consoleModeration[0]).toMatchObject({ streamId: stream.id, action: 'remove-chat', messageId: spam.id, viewerId: aliceId, user: 'Alice', reason: 'spam', by: ACTOR, via: 'socket', bans: [], mutes: [] });
      // A second click (another console) changes nothing and logs nothing more.
      expect(await ask(console, 'remove-chat', { streamId: stream.id, messageId: spam.id })).toEqual({ ok: true, messageId: spam.id, alreadyRemoved: true });

      // A page joining now, or reconnecting, gets the history without it; so does the console.
      const late = viewerSocket();
      const history = await ask(late, 'watch-chat', { streamId: stream.id });
      expect(history.history.map((message: ChatMessage) => message.text)).toEqual(['nice stream']);
      expect((await ask(console, 'watch-moderation', { streamId: stream.id })).chat.map((message: ChatMessage) => message.id)).toEqual([kept.id]);

      // Over HTTP too, said to be from http.
      const other = await say(bob, stream.id, 'another one to remove');
      const byHttp = await api(`/v1/streams/${stream.id}/moderation/remove-chat`, { body: { messageId: other.id } });
      expect(byHttp).toMatchObject({ status: 200, body: { messageId: other.id, alreadyRemoved: false, bans: [], mutes: [] } });
      await waitFor('the second removal', () => removedSeen.alice.length === 2);

      await publisher.stop();
      await waitFor('the recording to complete', async () => (await api(`/v1/recordings/${recording.id}`)).body.state === 'complete');
      const events = await recordingEvents(recording.id);
      const chat = events.filter((event) => event.type === 'chat');
      expect(chat.map((event) => [event.text, event.removed ?? false])).toEqual([
        ['buy followers at example.test', true],
        ['nice stream', false],
        ['another one to remove', true],
      ]);
      expect(chat[0]).toMatchObject({ id: spam.id, user: 'Alice', viewerId: aliceId });
      const moderation = events.filter((event) => event.type === 'moderation');
      expect(moderation).toHaveLength(2);
      expect(moderation[0]).toMatchObject({ t: expect.any(Number), type: 'moderation', action: 'remove-chat', messageId: spam.id, viewerId: aliceId, user: 'Alice', reason: 'spam', by: ACTOR, via: 'socket' });
      expect(moderation[1]).toMatchObject({ type: 'moderation', action: 'remove-chat', messageId: other.id, viewerId: expect.any(String), user: 'Bob', by: ACTOR, via: 'http' });
      expect(moderation[1].reason).toBeUndefined();
      expect(moderation[0].t).toBeGreaterThanOrEqual(chat[0].t);
    } finally {
      await publisher.stop().catch(() => undefined);
    }
  }, 60_000);

  it('a muted viewer is told at once, has messages and reactions refused with the time left, still reads the chat, and talks again after an unmute or when the time is up', async () => {
    const stream = await createStream('mutes');
    const carolId = newViewerId();
    const carol = await joined(stream.id, 'Carol', carolId);
    const dan = await joined(stream.id, 'Dan');
    const notices: any[] = [];
    carol.on('muted', (notice) => notices.push(notice));
    carol.on('unmuted', (notice) => notices.push({ unmuted: notice }));
    const carolChat: ChatMessage[] = [];
    carol.on('chat', (message) => carolChat.push(message));
    const console = operatorSocket();

    const mute = await ask(console, 'mute-viewer', { streamId: stream.id, viewerId: carolId, seconds: 600, reason: 'calm down' });
    expect(mute).toMatchObject({ ok: true, mute: { viewerId: carolId, user: 'Carol', reason: 'calm down', by: ACTOR } });
    expect(mute.mute.until - mute.mute.at).toBe(600_000);
    await waitFor('the muted notice', () => notices.length === 1);
    expect(notices[0]).toEqual({ streamId: stream.id, retryAfterMs: 600_000, reason: 'calm down' });

    const refused = await ask(carol, 'chat', { streamId: stream.id, text: 'let me speak' });
    expect(refused.ok).toBe(false);
    expect(refused.error.code).toBe('muted');
    expect(refused.error.message).toMatch(/^you are muted by an operator for another (59\d|600) s \(calm down\)$/);
    expect(refused.error.retryAfterMs).toBeGreaterThan(590_000);
    expect((await ask(carol, 'react', { streamId: stream.id, kind: 'like' })).error.code).toBe('muted');
    // A new connection with the same viewer id is still muted; she still watches the chat.
    const carolAgain = await joined(stream.id, 'Carol', carolId);
    expect((await ask(carolAgain, 'chat', { streamId: stream.id, text: 'again' })).error.code).toBe('muted');
    await say(dan, stream.id, 'Carol can read this');
    await waitFor('Dan reaching Carol', () => carolChat.find((message) => message.text === 'Carol can read this'));
    expect((await api(`/v1/streams/${stream.id}/moderation`)).body.mutes.map((entry: any) => entry.viewerId)).toEqual([carolId]);

    expect(await ask(console, 'unmute-viewer', { streamId: stream.id, viewerId: carolId })).toEqual({ ok: true });
    await waitFor('the unmuted notice', () => notices.length === 2);
    expect(notices[1]).toEqual({ unmuted: { streamId: stream.id } });
    await say(carol, stream.id, 'thanks');
    expect((await ask(console, 'unmute-viewer', { streamId: stream.id, viewerId: carolId })).error.code).toBe('not_muted');

    // A short mute over HTTP runs out by itself.
    expect((await api(`/v1/streams/${stream.id}/moderation/mute-viewer`, { body: { viewerId: carolId, seconds: 1 } })).status).toBe(200);
    expect((await ask(carol, 'chat', { streamId: stream.id, text: 'too soon' })).error.code).toBe('muted');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await say(carol, stream.id, 'back');
    expect((await api(`/v1/streams/${stream.id}/moderation`)).body.mutes).toEqual([]);
  });

  it('a banned viewer is disconnected at once and refused on reconnect, also under a new viewer id from the same address; others keep chatting, and an unban lets them back', async () => {
    const stream = await createStream('bans');
    const erinId = newViewerId();
    const frankId = newViewerId();
    const erin = await joined(stream.id, 'Erin', erinId);
    // Frank was chatting from the same address before the ban: he keeps his place.
    const frank = await joined(stream.id, 'Frank', frankId);
    const erinNotices: any[] = [];
    erin.on('banned', (notice) => erinNotices.push(notice));
    let erinDisconnect = '';
    erin.on('disconnect', (reason) => (erinDisconnect = reason));
    await say(erin, stream.id, 'something nasty');
    const console = operatorSocket();
    const updates: any[] = [];
    await ask(console, 'watch-moderation', { streamId: stream.id });
    console.on('moderation', (update) => updates.push(update));

    const ban = await ask(console, 'ban-viewer', { streamId: stream.id, viewerId: erinId, reason: 'abuse' });
    expect(ban).toMatchObject({ ok: true, ban: { viewerId: erinId, user: 'Erin', reason: 'abuse', by: ACTOR } });
    await waitFor('Erin told and disconnected', () => erinNotices.length === 1 && erinDisconnect !== '');
    expect(erinNotices[0]).toEqual({ streamId: stream.id, reason: 'abuse' });
    // The server closed it: socket.io does not reconnect by itself.
    expect(erinDisconnect).toBe('io server disconnect');
    await waitFor('the console update', () => updates.length === 1);
    expect(updates[0]).toMatchObject({ action: 'ban-viewer', viewerId: erinId, user: 'Erin', reason: 'abuse', bans: [{ viewerId: erinId, user: 'Erin', reason: 'abuse' }] });

    // Same viewer id, any address: refused, saying why.
    const erinBack = viewerSocket(erinId);
    const refused = await ask(erinBack, 'join', { streamId: stream.id, name: 'Erin2' });
    expect(refused).toEqual({ ok: false, error: { code: 'banned', message: 'you were removed from this chat by an operator (abuse)' } });
    expect((await ask(erinBack, 'watch-chat', { streamId: stream.id })).error.code).toBe('banned');
    expect((await ask(viewerSocket(erinId, '127.0.0.2'), 'join', { streamId: stream.id, name: 'Erin3' })).error.code).toBe('banned');
    // Cleared storage (a new viewer id) from the banned address: refused too.
    expect((await ask(viewerSocket(newViewerId()), 'join', { streamId: stream.id, name: 'Totally new' })).error.code).toBe('banned');
    expect((await ask(viewerSocket(null), 'watch-chat', { streamId: stream.id })).error.code).toBe('banned');
    // Frank (known before the ban) and a newcomer from another address chat on.
    await say(frank, stream.id, 'still here');
    const frankAgain = await joined(stream.id, 'Frank', frankId);
    await say(frankAgain, stream.id, 'reconnected fine');
    const grace = await joined(stream.id, 'Grace', newViewerId(), '127.0.0.2');
    await say(grace, stream.id, 'hello from next door');
    // The ban is per stream.
    const elsewhere = await createStream('another stream');
    await joined(elsewhere.id, 'Erin', erinId);

    expect((await api(`/v1/streams/${stream.id}/moderation`)).body.bans).toEqual([{ viewerId: erinId, user: 'Erin', reason: 'abuse', by: ban.ban.by, at: ban.ban.at }]);
    expect(await ask(console, 'unban-viewer', { streamId: stream.id, viewerId: erinId })).toEqual({ ok: true });
    await joined(stream.id, 'Erin', erinId);
    expect((await ask(console, 'unban-viewer', { streamId: stream.id, viewerId: erinId })).error.code).toBe('not_banned');

    // Over HTTP: ban and unban, logged as from http.
    const http = await api(`/v1/streams/${stream.id}/moderation/ban-viewer`, { body: { viewerId: frankId } });
    expect(http.status).toBe(200);
    expect(http.body.bans.map((entry: any) => entry.viewerId)).toEqual([frankId]);
    await waitFor('the HTTP ban on the console', () => updates.find((update) => update.action === 'ban-viewer' && update.viewerId === frankId));
    expect(updates.at(-1)).toMatchObject({ by: ACTOR, via: 'http' });
    expect((await api(`/v1/streams/${stream.id}/moderation/unban-viewer`, { body: { viewerId: frankId } })).body.bans).toEqual([]);
  });

  it('refuses bad moderation requests and bad viewer ids with errors naming the problem', async () => {
    const stream = await createStream('bad input');
    const viewerId = newViewerId();
    await joined(stream.id, 'Hana', viewerId);
    const console = operatorSocket();
    const code = async (event: string, message: unknown): Promise<string> => (await ask(console, event, message)).error?.code ?? 'ok';

    expect(await ask(console, 'mute-viewer', { streamId: stream.id, viewerId, seconds: 0 })).toEqual({
      ok: false,
      error: { code: 'bad_request', message: 'mute-viewer needs { streamId, viewerId, seconds, reason? }: seconds: must be at least 1' },
    });
    expect((await ask(console, 'ban-viewer', { streamId: stream.id, viewerId: 'short' })).error.message).toBe(
      'ban-viewer needs { streamId, viewerId, reason? }: viewerId: must be a viewer id (16 to 64 letters, digits, "-" or "_")',
    );
    expect(await code('remove-chat', { streamId: stream.id })).toBe('bad_request');
    expect(await code('remove-chat', 'not an object')).toBe('bad_request');
    expect(await code('ban-viewer', { streamId: stream.id, viewerId, reason: 'x'.repeat(201) })).toBe('bad_request');
    expect(await code('ban-viewer', { streamId: stream.id, viewerId, extra: true })).toBe('bad_request');
    expect(await code('mute-viewer', { streamId: stream.id, viewerId, seconds: 86_401 })).toBe('bad_request');
    expect(await code('remove-chat', { streamId: stream.id, messageId: 'nope' })).toBe('message_not_found');
    expect(await code('ban-viewer', { streamId: stream.id, viewerId: newViewerId() })).toBe('viewer_not_found');
    expect(await code('ban-viewer', { streamId: 'no-such-stream', viewerId })).toBe('not_found');
    expect(await code('watch-moderation', { streamId: 'no-such-stream' })).toBe('not_found');

    const http = await api(`/v1/streams/${stream.id}/moderation/mute-viewer`, { body: { viewerId, seconds: 'ten' } });
    expect(http).toEqual({ status: 400, body: { error: { code: 'invalid_request', message: 'mute-viewer needs { streamId, viewerId, seconds, reason? }: seconds: must be a number of seconds' } } });
    expect((await api(`/v1/streams/nope/moderation/ban-viewer`, { body: { viewerId } })).status).toBe(404);
    expect((await api(`/v1/streams/${stream.id}/moderation/ban-viewer`, { body: [viewerId] })).body.error.code).toBe('invalid_request');
    expect((await api(`/v1/streams/${stream.id}/moderation/kick`, { body: { viewerId } })).status).toBe(404);

    // After the stream ends there is nothing left to moderate.
    expect((await api(`/v1/streams/${stream.id}`, { method: 'DELETE' })).status).toBe(200);
    expect(await code('ban-viewer', { streamId: stream.id, viewerId })).toBe('stream_ended');
    expect((await api(`/v1/streams/${stream.id}/moderation/unban-viewer`, { body: { viewerId } })).status).toBe(409);

    // A malformed viewer id in the handshake is refused before anything else.
    const bad = viewerSocket('not a viewer id!');
    const error = await new Promise<Error & { data?: unknown }>((resolve) => bad.once('connect_error', resolve));
    expect(error.message).toBe('invalid_request: auth.viewerId must be 16 to 64 letters, digits, "-" or "_"');
    bad.close();
  });
});
