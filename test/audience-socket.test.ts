import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, waitFor, adminFetch as fetch } from './helpers/livefx-process.js';
import { serverForFile, trackedSocket } from './helpers/test-lifecycle.js';

interface ChatMessage {
  id: string;
  user: string;
  text: string;
  at: number;
}

interface ReactionsUpdate {
  streamId: string;
  totals: Record<string, number>;
  recent: Record<string, number>;
}

const session = serverForFile();

function audienceSocket(): Socket {
  return trackedSocket(session.sockets, `${session.server.url}/audience`);
}

const ask = (socket: Socket, event: string, message: unknown): Promise<any> => socket.timeout(5000).emitWithAck(event, message);

async function joined(streamId: string, name: string): Promise<Socket> {
  const socket = audienceSocket();
  const ack = await ask(socket, 'join', { streamId, name });
  expect(ack.ok).toBe(true);
  return socket;
}

describe('/audience namespace', () => {
  it('broadcasts chat to every socket in the stream, sender included, and gives a joining page the history', async () => {
    const stream = await createStream(session.server.url, 'chat');
    const alice = await joined(stream.id, '  Alice  ');
    const readOnly = audienceSocket();
    const watched = await ask(readOnly, 'watch-chat', { streamId: stream.id });
    expect(watched).toEqual({ ok: true, history: [], reactions: { like: 0, laugh: 0, wow: 0, clap: 0, heart: 0 }, maxTextChars: 500 });
    const seenByAlice: ChatMessage[] = [];
    const seenByReader: ChatMessage[] = [];
    alice.on('chat', (message: ChatMessage) => seenByAlice.push(message));
    readOnly.on('chat', (message: ChatMessage) => seenByReader.push(message));

    const ack = await ask(alice, 'chat', { streamId: stream.id, text: '  hello everyone  ' });
    expect(ack.ok).toBe(true);
    // The name and the text are trimmed, nothing else.
    expect(ack.message).toMatchObject({ user: 'Alice', text: 'hello everyone' });
    expect(typeof ack.message.id).toBe('string');
    await waitFor('the broadcast', () => seenByReader[0] && seenByAlice[0]);
    expect(seenByReader[0]).toMatchObject({ id: ack.message.id, user: 'Alice', text: 'hello everyone', at: ack.message.at });
    expect(seenByAlice[0]!.id).toBe(ack.message.id);

    // The read-only page cannot chat.
    expect((await ask(readOnly, 'chat', { streamId: stream.id, text: 'me too' })).error.code).toBe('not_joined');

    await ask(alice, 'chat', { streamId: stream.id, text: 'second' });
    const late = audienceSocket();
    const history = await ask(late, 'join', { streamId: stream.id, name: 'Bob' });
    expect(history.history.map((message: ChatMessage) => `${message.user}: ${message.text}`)).toEqual(['Alice: hello everyone', 'Alice: second']);

    // Another stream's chat stays there.
    const other = await createStream(session.server.url, 'other');
    const elsewhere = await joined(other.id, 'Carol');
    await ask(elsewhere, 'chat', { streamId: other.id, text: 'wrong room?' });
    await ask(alice, 'chat', { streamId: stream.id, text: 'third' });
    await waitFor('third message', () => seenByReader.find((message) => message.text === 'third'));
    expect(seenByReader.map((message) => message.text)).toEqual(['hello everyone', 'second', 'third']);
  });

  it('keeps the last 50 messages as history, oldest first', async () => {
    const stream = await createStream(session.server.url, 'history');
    for (let sender = 0; sender < 20; sender++) {
      const socket = await joined(stream.id, `viewer ${sender}`);
      for (let line = 0; line < 3; line++) expect((await ask(socket, 'chat', { streamId: stream.id, text: `${sender}.${line}` })).ok).toBe(true);
      socket.close();
    }
    const reader = audienceSocket();
    const { history } = await ask(reader, 'watch-chat', { streamId: stream.id });
    expect(history).toHaveLength(50);
    expect(history[0].text).toBe('3.1');
    expect(history[49].text).toBe('19.2');
  });

  it('sends text exactly as typed (markup included): escaping is the pages’ job', async () => {
    const stream = await createStream(session.server.url, 'markup');
    const sender = await joined(stream.id, '<b>Mallory</b>');
    const reader = audienceSocket();
    await ask(reader, 'watch-chat', { streamId: stream.id });
    const received: ChatMessage[] = [];
    reader.on('chat', (message: ChatMessage) => received.push(message));
    const markup = '<img src=x onerror="alert(1)"> &amp; &lt;script&gt; \'quotes\' "double" 😀';
    expect((await ask(sender, 'chat', { streamId: stream.id, text: markup })).message.text).toBe(markup);
    await waitFor('the broadcast', () => received[0]);
    expect(received[0]).toMatchObject({ user: '<b>Mallory</b>', text: markup });
  });

  it('refuses bad requests with invalid_request naming the field, and long messages with message_too_long', async () => {
    const stream = await createStream(session.server.url, 'validation');
    const socket = audienceSocket();
    const joinError = async (message: unknown) => (await ask(socket, 'join', message)).error;
    expect(await joinError({ streamId: stream.id, name: '   ' })).toEqual({ code: 'invalid_request', message: 'join: name: must not be empty' });
    expect(await joinError({ streamId: stream.id, name: 'x'.repeat(33) })).toEqual({ code: 'invalid_request', message: 'join: name: must be at most 32 characters' });
    expect(await joinError({ streamId: stream.id, name: 'bell\u0007' })).toEqual({ code: 'invalid_request', message: 'join: name: must not contain control characters' });
    expect(await joinError({ streamId: stream.id, name: 'evil\u202Eoknap' })).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('name:') });
    expect(await joinError({ name: 'Dave' })).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/^join: streamId: /) });
    expect(await joinError('Dave')).toEqual({ code: 'invalid_request', message: 'join: message: expected an object { streamId, name }' });
    // A 32-character name (after trimming) is fine.
    expect((await ask(socket, 'join', { streamId: stream.id, name: ` ${'n'.repeat(32)} ` })).ok).toBe(true);

    const chatError = async (message: unknown) => (await ask(socket, 'chat', message)).error;
    expect(await chatError({ streamId: stream.id, text: ' \t ' })).toEqual({ code: 'invalid_request', message: 'chat: text: must not be empty' });
    expect(await chatError({ streamId: stream.id, text: 42 })).toEqual({ code: 'invalid_request', message: 'chat: text: must be a string' });
    expect(await chatError({ streamId: stream.id, text: 'a'.repeat(501) })).toEqual({ code: 'message_too_long', message: 'chat: text is 501 characters; at most 500 are allowed' });
    expect((await ask(socket, 'chat', { streamId: stream.id, text: `  ${'a'.repeat(500)}  ` })).ok).toBe(true);

    expect((await ask(socket, 'react', { streamId: stream.id, kind: 'boo' })).error).toEqual({ code: 'invalid_request', message: 'react: kind: must be one of like, laugh, wow, clap, heart' });
    expect((await ask(audienceSocket(), 'react', { streamId: stream.id, kind: 'like' })).error.code).toBe('not_joined');
  });

  it('answers not_found for an unknown stream and stream_ended once it has ended', async () => {
    const socket = audienceSocket();
    expect((await ask(socket, 'join', { streamId: 'nope', name: 'Eve' })).error).toEqual({ code: 'not_found', message: 'no stream with id "nope"' });
    expect((await ask(socket, 'watch-chat', { streamId: 'nope' })).error.code).toBe('not_found');
    expect((await ask(socket, 'chat', { streamId: 'nope', text: 'hi' })).error.code).toBe('not_found');

    const stream = await createStream(session.server.url, 'ending');
    expect((await ask(socket, 'join', { streamId: stream.id, name: 'Eve' })).ok).toBe(true);
    expect((await fetch(`${session.server.url}/v1/streams/${stream.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await ask(socket, 'chat', { streamId: stream.id, text: 'anyone?' })).error).toEqual({ code: 'stream_ended', message: `stream "${stream.id}" has ended` });
    expect((await ask(socket, 'react', { streamId: stream.id, kind: 'like' })).error.code).toBe('stream_ended');
    expect((await ask(audienceSocket(), 'join', { streamId: stream.id, name: 'Frank' })).error.code).toBe('stream_ended');
  });

  it('throttles a chat flood per viewer, across reconnects, and accepts again after the wait it names', async () => {
    const stream = await createStream(session.server.url, 'flood');
    const flooder = await joined(stream.id, 'Flooder');
    const acks = [];
    for (let index = 0; index < 5; index++) acks.push(await ask(flooder, 'chat', { streamId: stream.id, text: `spam ${index}` }));
    expect(acks.map((ack) => ack.ok)).toEqual([true, true, true, false, false]);
    const refusal = acks[3].error;
    expect(refusal.code).toBe('rate_limited');
    expect(refusal.message).toMatch(/^slow down: you can send a message again in \d\.\d s$/);
    expect(refusal.retryAfterMs).toBeGreaterThan(0);
    expect(refusal.retryAfterMs).toBeLessThanOrEqual(2000);

    // Reconnecting under the same name does not reset the limit; another viewer is not affected.
    flooder.close();
    const again = await joined(stream.id, 'flooder');
    expect((await ask(again, 'chat', { streamId: stream.id, text: 'new socket' })).error.code).toBe('rate_limited');
    const bystander = await joined(stream.id, 'Bystander');
    expect((await ask(bystander, 'chat', { streamId: stream.id, text: 'hi' })).ok).toBe(true);

    const wait = (await ask(again, 'chat', { streamId: stream.id, text: 'still?' })).error.retryAfterMs as number;
    await new Promise((resolve) => setTimeout(resolve, wait + 100));
    expect((await ask(again, 'chat', { streamId: stream.id, text: 'back' })).ok).toBe(true);
    // Only one token came back: the next is refused again.
    expect((await ask(again, 'chat', { streamId: stream.id, text: 'and again' })).error.code).toBe('rate_limited');

    const reader = audienceSocket();
    const { history } = await ask(reader, 'watch-chat', { streamId: stream.id });
    expect(history.map((message: ChatMessage) => message.text)).toEqual(['spam 0', 'spam 1', 'spam 2', 'hi', 'back']);
  });

  it('aggregates reactions into a few broadcasts with totals and a recent window, and throttles a reaction flood', async () => {
    const stream = await createStream(session.server.url, 'reactions');
    const clicker = await joined(stream.id, 'Clicker');
    const other = await joined(stream.id, 'Other');
    const updates: ReactionsUpdate[] = [];
    other.on('reactions', (update: ReactionsUpdate) => updates.push(update));

    const acks = await Promise.all(Array.from({ length: 20 }, (_unused, index) => ask(clicker, 'react', { streamId: stream.id, kind: index < 8 ? 'like' : 'laugh' })));
    const refused = acks.filter((ack) => !ack.ok);
    // A burst of 10 is allowed at once (a token may have come back meanwhile); the rest is throttled with a wait.
    expect(acks.slice(0, 10).every((ack) => ack.ok)).toBe(true);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused[0].error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/^slow down: you can react again in/), retryAfterMs: expect.any(Number) });
    expect((await ask(other, 'react', { streamId: stream.id, kind: 'heart' })).ok).toBe(true);

    const expected = { like: 8, laugh: acks.slice(8).filter((ack) => ack.ok).length, wow: 0, clap: 0, heart: 1 };
    await waitFor('the aggregated counts', () => updates.find((update) => update.totals.heart === 1 && update.totals.laugh === expected.laugh));
    const last = updates[updates.length - 1]!;
    expect(last.streamId).toBe(stream.id);
    expect(last.totals).toEqual(expected);
    expect(last.recent).toEqual(expected);
    // Over ten accepted reactions, far fewer broadcasts.
    expect(updates.length).toBeLessThan(6);

    // A page joining now gets the totals in its ack.
    expect((await ask(audienceSocket(), 'watch-chat', { streamId: stream.id })).reactions).toEqual(expected);
  });
});
