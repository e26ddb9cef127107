import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/livefx-process.js';
import { AudienceHub, type ChatEvent, type ModerationEvent, type ReactionEvent, type ViewersEvent } from '../server/audience/audience-hub.js';
import type { ReactionsUpdate } from '../server/audience/audience-protocol.js';
import { loadConfig } from '../core/config.js';
import { LivefxMetrics } from '../server/metrics.js';
import { StreamRegistry } from '../server/streams/stream-registry.js';

let dataDir: string;
let registry: StreamRegistry;
let hub: AudienceHub;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-audience-'));
  registry = new StreamRegistry({ config: loadConfig({ LIVEFX_DATA_DIR: dataDir }), metrics: new LivefxMetrics(), log: pino({ level: 'silent' }) });
  hub = new AudienceHub({ registry, log: pino({ level: 'silent' }) });
});

afterEach(async () => {
  await registry.closeAll();
  hub.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('AudienceHub (the recorder’s hook)', () => {
  it('emits every chat message and every reaction once, with the stream id', () => {
    const stream = registry.create('hub');
    const chats: ChatEvent[] = [];
    const reactions: ReactionEvent[] = [];
    hub.on('chat', (event) => chats.push(event));
    hub.on('reaction', (event) => reactions.push(event));
    const message = hub.postChat(stream.id, 'Ann', 'hi <b>there</b>', 'viewer-ann-0123456789');
    hub.react(stream.id, 'Ann', 'wow');
    hub.react(stream.id, 'Ben', 'wow');
    // The recorder gets the author's viewer id; the message viewers are sent has none.
    expect(chats).toEqual([{ streamId: stream.id, ...message, viewerId: 'viewer-ann-0123456789' }]);
    expect(Object.keys(message).sort()).toEqual(['at', 'id', 'text', 'user']);
    expect(message).toMatchObject({ user: 'Ann', text: 'hi <b>there</b>' });
    expect(reactions.map((event) => `${event.streamId} ${event.user} ${event.kind}`)).toEqual([`${stream.id} Ann wow`, `${stream.id} Ben wow`]);
    expect(hub.reactionTotals(stream.id)).toEqual({ like: 0, laugh: 0, wow: 2, clap: 0, heart: 0 });
  });

  it('a listener that throws does not stop the others or the caller', () => {
    const stream = registry.create('throwing listener');
    const seen: string[] = [];
    hub.on('chat', () => {
      throw new Error('recorder broke');
    });
    hub.on('chat', (event) => seen.push(event.text));
    expect(() => hub.postChat(stream.id, 'Ann', 'still delivered', 'viewer-ann-0123456789')).not.toThrow();
    expect(seen).toEqual(['still delivered']);
  });

  it('emits viewers whenever the HLS or WebRTC count changes, and zero when the stream ends', async () => {
    const stream = registry.create('viewers');
    const counts: ViewersEvent[] = [];
    hub.on('viewers', (event) => counts.push(event));
    stream.addHlsViewer('a');
    stream.addHlsViewer('a');
    stream.addHlsViewer('b');
    stream.removeHlsViewer('a');
    await stream.end('test over');
    expect(counts.map(({ streamId, webrtc, hls }) => ({ streamId, webrtc, hls }))).toEqual([
      { streamId: stream.id, webrtc: 0, hls: 1 },
      { streamId: stream.id, webrtc: 0, hls: 2 },
      { streamId: stream.id, webrtc: 0, hls: 1 },
      { streamId: stream.id, webrtc: 0, hls: 0 },
    ]);
    expect(counts.every((event) => typeof event.at === 'number')).toBe(true);
  });

  it('sends aggregated reaction updates, not one per reaction, and the last one when the stream ends', async () => {
    const stream = registry.create('aggregate');
    const updates: ReactionsUpdate[] = [];
    hub.on('reactions', (update) => updates.push(update));
    for (let index = 0; index < 40; index++) hub.react(stream.id, `viewer ${index % 4}`, index % 2 === 0 ? 'clap' : 'heart');
    await waitFor('an update', () => updates[0]);
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ streamId: stream.id, totals: { clap: 20, heart: 20, like: 0 }, recent: { clap: 20, heart: 20 }, windowS: 10 });
    hub.react(stream.id, 'late', 'like');
    await stream.end('test over');
    expect(updates.at(-1)!.totals.like).toBe(1);
  });

  it('a removed message leaves the history (older ones fill its place) and is emitted as moderation once', () => {
    const stream = registry.create('removal');
    const actions: ModerationEvent[] = [];
    hub.on('moderation', (event) => actions.push(event));
    const sent = Array.from({ length: 51 }, (_unused, index) => hub.postChat(stream.id, 'Ann', `message ${index}`, 'viewer-ann-0123456789'));
    expect(hub.history(stream.id).map((message) => message.text)[0]).toBe('message 1');
    const actor = { by: 'operator', via: 'socket' } as const;
    expect(hub.removeChat(stream.id, sent[50]!.id, actor, 'spam')).toMatchObject({ alreadyRemoved: false, message: { text: 'message 50', viewerId: 'viewer-ann-0123456789' } });
    expect(hub.removeChat(stream.id, sent[50]!.id, actor)).toMatchObject({ alreadyRemoved: true });
    expect(hub.removeChat(stream.id, 'no-such-id', actor)).toBeUndefined();
    const texts = hub.history(stream.id).map((message) => message.text);
    expect(texts).toHaveLength(50);
    expect(texts[0]).toBe('message 0');
    expect(texts).not.toContain('message 50');
    expect(actions).toEqual([{ streamId: stream.id, action: 'remove-chat', messageId: sent[50]!.id, viewerId: 'viewer-ann-0123456789', user: 'Ann', reason: 'spam', by: 'operator', via: 'socket', at: expect.any(Number) }]);
  });

  it('a ban covers its viewer id anywhere, and new viewer ids from its addresses, not viewers seen there before; a mute runs out', async () => {
    const stream = registry.create('bans');
    const actor = { by: 'operator', via: 'http' } as const;
    hub.seeViewer(stream.id, 'viewer-ann-0123456789', '10.0.0.1', 'Ann');
    hub.seeViewer(stream.id, 'viewer-ben-0123456789', '10.0.0.1', 'Ben');
    expect(hub.ban(stream.id, 'viewer-ann-0123456789', actor, 'abuse')).toMatchObject({ viewerId: 'viewer-ann-0123456789', user: 'Ann', reason: 'abuse' });
    expect(hub.banOf(stream.id, 'viewer-ann-0123456789', '10.9.9.9')?.reason).toBe('abuse');
    expect(hub.banOf(stream.id, 'viewer-new-0123456789', '10.0.0.1')?.viewerId).toBe('viewer-ann-0123456789');
    expect(hub.banOf(stream.id, 'viewer-ben-0123456789', '10.0.0.1')).toBeUndefined();
    expect(hub.banOf(stream.id, 'viewer-new-0123456789', '10.0.0.2')).toBeUndefined();
    expect(hub.moderationState(stream.id).bans.map((ban) => ban.viewerId)).toEqual(['viewer-ann-0123456789']);
    expect(hub.unban(stream.id, 'viewer-ann-0123456789', actor)).toBe(true);
    expect(hub.unban(stream.id, 'viewer-ann-0123456789', actor)).toBe(false);
    expect(hub.banOf(stream.id, 'viewer-new-0123456789', '10.0.0.1')).toBeUndefined();

    hub.mute(stream.id, 'viewer-ben-0123456789', 1, actor);
    expect(hub.muteOf(stream.id, 'viewer-ben-0123456789', '10.0.0.1')).toBeDefined();
    await waitFor('the mute to run out', () => hub.muteOf(stream.id, 'viewer-ben-0123456789', '10.0.0.1') === undefined, 3000);
    expect(hub.moderationState(stream.id).mutes).toEqual([]);
  });

  it('close() is idempotent and stops emitting', () => {
    const stream = registry.create('closed');
    const seen: unknown[] = [];
    hub.on('viewers', (event) => seen.push(event));
    hub.close();
    hub.close();
    expect(hub.closed).toBe(true);
    stream.addHlsViewer('x');
    expect(seen).toEqual([]);
  });
});
