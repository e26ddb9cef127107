import type { Server as SocketServer, Socket } from 'socket.io';
import { z } from 'zod';
import { LivefxError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { canView } from './auth/access.js';
import { principalOf } from './auth/socket-access.js';
import type { LiveStream } from './streams/live-stream.js';
import type { StreamRegistry } from './streams/stream-registry.js';
import type { RemoteStreamStates } from './cluster/remote-stream-states.js';
import { ackOf, onEvent } from './socket-errors.js';

const subscribeMessage = z.object({ streamId: z.string().min(1).max(64) });
const watchingMessage = z.object({ streamId: z.string().min(1).max(64), mode: z.literal('hls') });

/**
 * socket.io namespace `/live`: stream state and stats pushed to pages, clock sync for latency
 * measurement, and HLS viewer counting. Everything live that is not SDP goes through socket.io.
 */
export function attachLiveNamespace(io: SocketServer, registry: StreamRegistry, log?: Logger, remote?: RemoteStreamStates): void {
  const live = io.of('/live');
  const room = (streamId: string): string => `stream:${streamId}`;
  // Another node's stream, followed from here: its state goes to this node's sockets only (the owner tells its own).
  remote?.on('state', (streamId, state) => live.local.to(room(streamId)).emit('state', { streamId, state }));
  const wire = (stream: LiveStream): void => {
    stream.on('state', (state) => live.to(room(stream.id)).emit('state', { streamId: stream.id, state }));
    stream.on('stats', (stats) => live.to(room(stream.id)).emit('stats', { streamId: stream.id, stats }));
    stream.on('caption', (cue) => {
      // Seconds since the stream went live, the recording's clock.
      const origin = stream.liveSinceMs ?? cue.startMs;
      const seconds = (ms: number): number => Math.max(0, Math.round(ms - origin) / 1000);
      const text = cue.lines.join(' ');
      live.to(room(stream.id)).emit('caption', { streamId: stream.id, cue: { id: cue.id, text, lines: cue.lines, startS: seconds(cue.startMs), endS: seconds(cue.endMs), final: cue.final } });
    });
  };
  for (const stream of registry.list()) wire(stream);
  registry.on('newstream', wire);

  live.on('connection', (socket: Socket) => {
    const hlsWatching = new Set<string>();
    const following = new Set<string>();
    /** The stream a message names, if this socket may watch it; malformed messages are `bad_request` here (documented). */
    const watchable = (schema: typeof subscribeMessage | typeof watchingMessage, message: unknown, shape: string): LiveStream => {
      const parsed = schema.safeParse(message);
      if (!parsed.success) throw new LivefxError('bad_request', shape);
      const stream = registry.get(parsed.data.streamId);
      if (!stream) throw new LivefxError('not_found', `no stream with id "${parsed.data.streamId}"`);
      if (!canView(principalOf(socket), stream)) throw new LivefxError('forbidden', `stream "${stream.id}" is private: it needs the viewer link's token`);
      return stream;
    };
    onEvent(
      socket,
      'subscribe',
      async (message) => {
        const parsed = subscribeMessage.safeParse(message);
        const streamId = parsed.success ? parsed.data.streamId : '';
        if (remote && streamId && !registry.get(streamId)) {
          // A stream another node owns: its view from the owner, and this node follows it for the socket.
          const found = await remote.view(streamId, principalOf(socket));
          if (!found) throw new LivefxError('not_found', `no stream with id "${streamId}"`);
          // Gone while the owner answered: nothing to follow for it (it would never be unfollowed).
          if (socket.disconnected) return { stream: found.view };
          void socket.join(room(streamId));
          remote.follow(found.remote, found.view.state, socket.id);
          following.add(streamId);
          return { stream: found.view };
        }
        const stream = watchable(subscribeMessage, message, 'subscribe needs { streamId: string }');
        void socket.join(room(stream.id));
        return { stream: stream.view() };
      },
      log,
    );
    onEvent(
      socket,
      'watching',
      (message) => {
        const stream = watchable(watchingMessage, message, "watching needs { streamId: string, mode: 'hls' }");
        stream.addHlsViewer(socket.id);
        hlsWatching.add(stream.id);
      },
      log,
    );
    // Not a request that can be refused: the ack is the server clock.
    socket.on('time', (...args: unknown[]) => ackOf(args[args.length - 1])({ now: Date.now() }));
    socket.on('disconnect', () => {
      for (const streamId of hlsWatching) registry.get(streamId)?.removeHlsViewer(socket.id);
      for (const streamId of following) remote?.unfollow(streamId, socket.id);
    });
  });
}
