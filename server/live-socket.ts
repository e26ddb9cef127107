import type { Server as SocketServer, Socket } from 'socket.io';
import { z } from 'zod';
import { LivefxError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { canView } from './auth/access.js';
import { principalOf } from './auth/socket-access.js';
import type { LiveStream } from './streams/live-stream.js';
import type { StreamRegistry } from './streams/stream-registry.js';
import type { RemoteStreamStates } from './cluster/remote-stream-states.js';
import type { StreamView } from './streams/stream-view.js';
import { ackOf, onEvent } from './socket-errors.js';
import type { AudienceHub } from './audience/audience-hub.js';
import type { RemoteStreams } from './cluster/owner-requests.js';
import type { GuardedStream } from './auth/access.js';

/** With LIVEFX_REDIS_URL: streams other nodes own, the audience bus that carries HLS viewers to their owner, and the watch on those owners. */
export interface LiveCluster {
  remote: RemoteStreams;
  hub: AudienceHub;
  /** Another node's stream followed for this node's sockets: its owner's death (no emit can come from it) ends it here. */
  states: RemoteStreamStates;
}

const subscribeMessage = z.object({ streamId: z.string().min(1).max(64) });
const watchingMessage = z.object({ streamId: z.string().min(1).max(64), mode: z.literal('hls') });

/**
 * socket.io namespace `/live`: stream state and stats pushed to pages, clock sync for latency
 * measurement, and HLS viewer counting. Everything live that is not SDP goes through socket.io.
 */
export function attachLiveNamespace(io: SocketServer, registry: StreamRegistry, log?: Logger, cluster?: LiveCluster): void {
  const live = io.of('/live');
  const room = (streamId: string): string => `stream:${streamId}`;
  // The owner of a followed stream died or lost it: this node tells its own sockets (every node follows for its own).
  cluster?.states.on('ended', (streamId) => live.local.to(room(streamId)).emit('state', { streamId, state: 'ended' }));
  const wire = (stream: LiveStream): void => {
    stream.on('state', (state) => live.to(room(stream.id)).emit('state', { streamId: stream.id, state }));
    stream.on('stats', (stats) => live.to(room(stream.id)).emit('stats', { streamId: stream.id, stats }));
    // Viewers' pages learn of a look change too (who changed it is for operators only).
    stream.on('chain', (chain) => live.to(room(stream.id)).emit('chain', { streamId: stream.id, chain, at: new Date().toISOString() }));
    stream.on('caption', (cue) => {
      // Seconds since the stream went live, the recording's clock.
      const origin = stream.liveSinceMs ?? cue.startMs;
      const seconds = (ms: number): number => Math.max(0, Math.round(ms - origin) / 1000);
      const text = cue.lines.join(' ');
      live.to(room(stream.id)).emit('caption', { streamId: stream.id, cue: { id: cue.id, text, lines: cue.lines, startS: seconds(cue.startMs), endS: seconds(cue.endMs), partial: cue.partial, final: cue.final } });
    });
  };
  for (const stream of registry.list()) wire(stream);
  registry.on('newstream', wire);
  // HLS viewers whose `/live` socket is on another node count on the owner.
  cluster?.hub.on('watching', ({ streamId, viewerKey, watching }) => {
    const stream = registry.get(streamId);
    if (watching) stream?.addHlsViewer(viewerKey);
    else stream?.removeHlsViewer(viewerKey);
  });

  live.on('connection', (socket: Socket) => {
    const hlsWatching = new Set<string>();
    /** HLS viewers counted on other nodes (the streams' owners), by stream id. */
    const remoteWatching = new Set<string>();
    const viewerKey = `${cluster?.remote.nodeId ?? ''}:${socket.id}`;
    /** Other nodes' streams this socket subscribed to, whose owners this node follows for it. */
    const following = new Set<string>();
    /** The stream a message names (here, or its shared record when another node owns it), if this socket may watch it; malformed messages are `bad_request` here (documented). */
    const watchable = async (schema: typeof subscribeMessage | typeof watchingMessage, message: unknown, shape: string): Promise<LiveStream | GuardedStream> => {
      const parsed = schema.safeParse(message);
      if (!parsed.success) throw new LivefxError('bad_request', shape);
      const stream = registry.get(parsed.data.streamId) ?? (await cluster?.remote.find(parsed.data.streamId));
      if (!stream) throw new LivefxError('not_found', `no stream with id "${parsed.data.streamId}"`);
      if (!canView(principalOf(socket), stream)) throw new LivefxError('forbidden', `stream "${stream.id}" is private: it needs the viewer link's token`);
      return stream;
    };
    onEvent(
      socket,
      'subscribe',
      async (message) => {
        const stream = await watchable(subscribeMessage, message, 'subscribe needs { streamId: string }');
        // Another node's stream: its owner's emits reach this room through the socket.io adapter.
        void socket.join(room(stream.id));
        if ('view' in stream) return { stream: stream.view() };
        const view = (await cluster!.remote.forward(stream.id, { method: 'GET', path: `/v1/streams/${encodeURIComponent(stream.id)}`, actor: { role: 'operator', changedBy: `live socket ${socket.id}` } })) as StreamView;
        // A socket gone while the owner answered is not followed (it would never be unfollowed).
        if (!socket.disconnected && view.state !== 'ended') {
          cluster!.states.follow(stream.id, socket.id);
          following.add(stream.id);
        }
        return { stream: view };
      },
      log,
    );
    onEvent(
      socket,
      'watching',
      async (message) => {
        const stream = await watchable(watchingMessage, message, "watching needs { streamId: string, mode: 'hls' }");
        if ('addHlsViewer' in stream) {
          stream.addHlsViewer(socket.id);
          hlsWatching.add(stream.id);
        } else if (!remoteWatching.has(stream.id)) {
          remoteWatching.add(stream.id);
          cluster!.hub.watchRemote(stream.id, viewerKey, true);
        }
      },
      log,
    );
    // Not a request that can be refused: the ack is the server clock.
    socket.on('time', (...args: unknown[]) => ackOf(args[args.length - 1])({ now: Date.now() }));
    socket.on('disconnect', () => {
      for (const streamId of hlsWatching) registry.get(streamId)?.removeHlsViewer(socket.id);
      for (const streamId of remoteWatching) cluster?.hub.watchRemote(streamId, viewerKey, false);
      for (const streamId of following) cluster?.states.unfollow(streamId, socket.id);
    });
  });
}
