import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './http-error.js';

/**
 * The router's own refusals (a path whose percent escapes do not decode to UTF-8, a path parameter
 * over fastify's 100 characters) in the API's `{ error: { code, message } }` shape.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(414).send(errorBody('path_too_long', 'a part of the URL path is longer than 100 characters'));
    return;
  }
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const message = error.code === 'FST_ERR_BAD_URL' ? 'the URL path is not valid: a percent escape does not decode to UTF-8' : error.message;
  void reply.code(status).send(errorBody('invalid_url', message));
}

/** Requests Node's HTTP parser refuses before fastify sees them (bad framing, headers over 16 KiB), answered in the same shape. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'the request headers (or the URL) are larger than the 16 KiB allowed']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'the request did not arrive in time']
        : [400, 'malformed_request', `the request is not valid HTTP (${error.code ?? 'parse error'})`];
  // An answer to HEAD carries no body (a client would read it as the next response); so when the method is unknown, the status says it all.
  const method = /^([A-Z]+) /.exec((error as { rawPacket?: Buffer }).rawPacket?.subarray(0, 10).toString('latin1') ?? '')?.[1];
  const head = method === undefined || method === 'HEAD';
  const body = JSON.stringify(errorBody(code, message));
  // As Node does: only a connection that has been sent nothing yet gets an answer (else it would follow another response).
  if (socket.writable && socket.bytesWritten === 0) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${head ? '' : body}`);
  }
  socket.destroy(error);
}
