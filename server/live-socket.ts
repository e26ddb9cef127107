import type { Server as SocketServer, Socket } from 'socket.io';
import { z } from 'zod';
import { canView } from './auth/access.js';
import { principalOf } from './auth/socket-access.js';
import type { LiveStream } from './streams/live-stream.js';
import type { StreamRegistry } from './streams/stream-registry.js';

const subscribeMessage = z.object({ streamId: z.string().min(1).max(64) });
const watchingMessage = z.object({ streamId: z.string().min(1).max(64), mode: z.literal('hls') });

type Ack = (response: unknown) => void;

function ackOf(candidate: unknown): Ack {
  return typeof candidate === 'function' ? (candidate as Ack) : () => {};
}

function badRequest(ack: Ack, message: string): void {
  ack({ ok: false, error: { code: 'bad_request', message } });
}

/**
 * socket.io namespace `/live`: stream state and stats pushed to pages, clock sync for latency
 * measurement, and HLS viewer counting. Everything live that is not SDP goes through socket.io.
 */
export function attachLiveNamespace(io: SocketServer, registry: StreamRegistry): void {
  const live = io.of('/live');
  const room = (streamId: string): string => `stream:${streamId}`;
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
    socket.on('subscribe', (message: unknown, ackCandidate: unknown) => {
      const ack = ackOf(ackCandidate);
      const parsed = subscribeMessage.safeParse(message);
      if (!parsed.success) return badRequest(ack, 'subscribe needs { streamId: string }');
      const stream = registry.get(parsed.data.streamId);
      if (!stream) return ack({ ok: false, error: { code: 'not_found', message: `no stream with id "${parsed.data.streamId}"` } });
      if (!canView(principalOf(socket), stream)) return ack({ ok: false, error: { code: 'forbidden', message: `stream "${stream.id}" is private: it needs the viewer link's token` } });
      void socket.join(room(stream.id));
      ack({ ok: true, stream: stream.view() });
    });
    socket.on('watching', (message: unknown, ackCandidate: unknown) => {
      const ack = ackOf(ackCandidate);
      const parsed = watchingMessage.safeParse(message);
      if (!parsed.success) return badRequest(ack, "watching needs { streamId: string, mode: 'hls' }");
      const stream = registry.get(parsed.data.streamId);
      if (!stream) return ack({ ok: false, error: { code: 'not_found', message: `no stream with id "${parsed.data.streamId}"` } });
      if (!canView(principalOf(socket), stream)) return ack({ ok: false, error: { code: 'forbidden', message: `stream "${stream.id}" is private: it needs the viewer link's token` } });
      stream.addHlsViewer(socket.id);
      hlsWatching.add(stream.id);
      ack({ ok: true });
    });
    socket.on('time', (...args: unknown[]) => ackOf(args[args.length - 1])({ now: Date.now() }));
    socket.on('disconnect', () => {
      for (const streamId of hlsWatching) registry.get(streamId)?.removeHlsViewer(socket.id);
    });
  });
}
