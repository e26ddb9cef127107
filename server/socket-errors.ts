import type { Socket } from 'socket.io';
import { errorAck, LivefxError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** What a socket.io client passed as its last argument: the function that answers it. */
export type Ack = (response: unknown) => void;

/** The ack of an event, or one that does nothing when the client sent none. */
export function ackOf(candidate: unknown): Ack {
  return typeof candidate === 'function' ? (candidate as Ack) : () => {};
}

/** Answers a refusal: `{ ok: false, error: { code, message, ...details } }`. */
export function refuse(ack: Ack, error: LivefxError): void {
  ack(errorAck(error));
}

/** What an event handler returns: the fields of its `{ ok: true, … }` ack (nothing: `{ ok: true }`). */
export type EventAnswer = Record<string, unknown> | void;

/**
 * Listens to one event of a socket whose handler just returns or throws, as HTTP routes do: the
 * result is acked as `{ ok: true, ...result }`, a thrown LivefxError as `{ ok: false, error: { code,
 * message } }`, and anything else is logged and acked as `internal_error` (its message may hold
 * internals, so it is not sent). The same code means the same thing here and over HTTP.
 */
export function onEvent(socket: Socket, event: string, handler: (message: unknown) => EventAnswer | Promise<EventAnswer>, log?: Logger): void {
  socket.on(event, (message: unknown, ackCandidate: unknown) => {
    // socket-event-guard.ts moves an ack sent alone into second place; this keeps the handler right without it.
    const ack = ackOf(ackCandidate ?? message);
    const payload = typeof message === 'function' && ackCandidate === undefined ? undefined : message;
    const fail = (error: unknown): void => {
      if (!(error instanceof LivefxError)) log?.error({ err: error, namespace: socket.nsp.name, event }, 'socket event failed');
      ack(errorAck(error));
    };
    try {
      const answer = handler(payload);
      if (answer instanceof Promise) answer.then((result) => ack({ ok: true, ...result }), fail);
      else ack({ ok: true, ...answer });
    } catch (error) {
      fail(error);
    }
  });
}
