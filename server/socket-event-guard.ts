import type { Socket } from 'socket.io';
import { LivefxError } from '../core/errors.js';
import { refuse } from './socket-errors.js';

/**
 * Makes every socket.io event of a connection arrive as `(payload, ack)`, and answers events nobody
 * listens to. Without it an ack sent as the only argument, or after extra arguments, was never
 * called (the client waited forever), and an unknown event was dropped in silence. An event is
 * known when the socket has a listener for it, so namespaces need no list to keep in step.
 */
export function guardSocketEvents(socket: Socket): void {
  socket.use((packet, next) => {
    const event = packet[0] as unknown;
    const last = packet.length > 1 ? (packet[packet.length - 1] as unknown) : undefined;
    const ack = typeof last === 'function' ? (last as (response: unknown) => void) : undefined;
    if (typeof event !== 'string' || socket.listenerCount(event) === 0) {
      const name = typeof event === 'string' ? event.slice(0, 64) : typeof event;
      if (ack) refuse(ack, new LivefxError('unknown_event', `no event "${name}" on ${socket.nsp.name}`));
      return;
    }
    if (ack && packet.length !== 3) packet.splice(1, packet.length - 1, packet.length > 2 ? packet[1] : undefined, ack);
    next();
  });
}
