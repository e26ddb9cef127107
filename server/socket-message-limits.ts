import type { Namespace, Server as SocketServer, Socket } from 'socket.io';
import { TokenBucket } from './audience/token-bucket.js';
import type { LivefxConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { LivefxMetrics } from './metrics.js';
import { LivefxError } from '../core/errors.js';
import { refuse, type Ack } from './socket-errors.js';

/** Refused messages a socket may send, in seconds' worth of its limit, before it is disconnected. */
const FLOOD_TOLERANCE_S = 5;

/**
 * Caps the messages each socket.io connection may send, on every namespace (`/operator`,
 * `/audience`, `/live` and any added later): N a second with a burst of 2N. A message over the
 * limit is not handled; its ack answers `{ ok: false, error: { code: 'rate_limited', … } }`.
 * A socket whose refused messages outrun a second bucket (5 s worth of the limit, refilled at the
 * limit) is sending far above the limit (over twice it, sustained) and is disconnected.
 */
export function limitSocketMessages(io: SocketServer, config: Pick<LivefxConfig, 'LIVEFX_SOCKET_MESSAGES_PER_S'>, log: Logger, metrics: LivefxMetrics): void {
  const perSecond = config.LIVEFX_SOCKET_MESSAGES_PER_S;
  if (perSecond <= 0) return;
  const accepted = { capacity: 2 * perSecond, refillPerSecond: perSecond };
  const refused = { capacity: Math.max(10, FLOOD_TOLERANCE_S * perSecond), refillPerSecond: perSecond };

  const guard = (socket: Socket): void => {
    const now = Date.now();
    const messages = new TokenBucket(accepted, now);
    const refusals = new TokenBucket(refused, now);
    socket.use((packet, next) => {
      // Packets that arrived in the same read as the one that got the socket disconnected.
      if (socket.disconnected) return;
      const nowMs = Date.now();
      const waitMs = messages.waitMs(nowMs);
      if (waitMs === 0) {
        messages.take(nowMs);
        return next();
      }
      metrics.limitRefusals.inc({ limit: 'socket_messages_per_s' });
      const ack = packet[packet.length - 1];
      if (typeof ack === 'function') {
        const message = `too many messages on this connection: at most ${perSecond} a second (LIVEFX_SOCKET_MESSAGES_PER_S); try again in ${(waitMs / 1000).toFixed(1)} s`;
        refuse(ack as Ack, new LivefxError('rate_limited', message, { details: { retryAfterMs: waitMs } }));
      }
      if (refusals.waitMs(nowMs) > 0) {
        log.warn({ namespace: socket.nsp.name, address: socket.handshake.address, limitPerSecond: perSecond }, 'socket.io connection flooding far above its message limit: disconnected');
        metrics.limitRefusals.inc({ limit: 'socket_flood_disconnect' });
        socket.disconnect(true);
        return;
      }
      refusals.take(nowMs);
    });
  };
  // Namespace middleware runs before the namespace's own connection handlers, so no message slips past.
  const watch = (namespace: Namespace): void => {
    namespace.use((socket, next) => {
      guard(socket);
      next();
    });
  };
  for (const namespace of io._nsps.values()) watch(namespace);
  io.on('new_namespace', watch);
}
