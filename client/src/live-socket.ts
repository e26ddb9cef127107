import type { Socket } from 'socket.io-client';

import type { StreamState, StreamStats, StreamView } from '../../server/streams/stream-view.js';
import { loadSocketIoScript } from './classic-script.js';
import { socketAuth } from './page-token.js';

export type { StreamState, StreamStats, StreamView };

export interface LiveSocketHandlers {
  onState(state: StreamState): void;
  onStats(stats: StreamStats): void;
}

/** The server refused this page's token for the stream (private stream without its link, expired or revoked token). */
export class StreamAccessError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The page's connection to the server's `/live` namespace: state, stats and the server clock. */
export class LiveSocket {
  readonly socket: Socket;
  /** Server clock minus this page's clock, in ms (NTP-style estimate, best of several probes). */
  clockOffsetMs = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
  }

  static async connect(streamId: string, handlers: LiveSocketHandlers): Promise<{ live: LiveSocket; stream: StreamView }> {
    if (!(await loadSocketIoScript())) throw new Error('the socket.io client script could not be loaded');
    const socket = io('/live', { transports: ['websocket'], ...socketAuth() });
    const live = new LiveSocket(socket);
    socket.on('state', (message: { streamId: string; state: StreamState }) => message.streamId === streamId && handlers.onState(message.state));
    socket.on('stats', (message: { streamId: string; stats: StreamStats }) => message.streamId === streamId && handlers.onStats(message.stats));
    // A refused handshake (bad, expired or revoked token) is final: no retrying with the same token.
    const refused = new Promise<never>((_resolve, reject) => {
      socket.on('connect_error', (error: Error & { data?: { code?: string; message?: string } }) => {
        if (!error.data?.code) return;
        socket.close();
        reject(new StreamAccessError(error.data.code, error.data.message ?? error.message));
      });
    });
    refused.catch(() => undefined);
    const subscribe = async (): Promise<StreamView> => {
      const ack = (await socket.timeout(5000).emitWithAck('subscribe', { streamId })) as { ok: boolean; stream?: StreamView; error?: { code: string; message: string } };
      if (ack.error && (ack.error.code === 'forbidden' || ack.error.code === 'unauthorized')) throw new StreamAccessError(ack.error.code, ack.error.message);
      if (!ack.ok || !ack.stream) throw new Error(ack.error?.message ?? 'could not subscribe to the stream');
      return ack.stream;
    };
    const stream = await Promise.race([subscribe(), refused]);
    // After a reconnect the server has forgotten the room: join again.
    socket.io.on('reconnect', () => void subscribe().then((view) => handlers.onState(view.state)).catch(() => undefined));
    void live.syncClock();
    return { live, stream };
  }

  /** Server time now, by this page's clock corrected with the estimated offset. */
  serverNow(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private async syncClock(): Promise<void> {
    let bestRoundTrip = Number.POSITIVE_INFINITY;
    for (let probe = 0; probe < 5; probe++) {
      const sent = Date.now();
      const reply = (await this.socket.timeout(3000).emitWithAck('time').catch(() => undefined)) as { now?: number } | undefined;
      const received = Date.now();
      // No answer, or a refusal (rate_limited) instead of the time.
      if (typeof reply?.now !== 'number') continue;
      if (received - sent < bestRoundTrip) {
        bestRoundTrip = received - sent;
        this.clockOffsetMs = reply.now - (sent + received) / 2;
      }
    }
  }
}
