import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LivefxConfig } from '../../core/config.js';
import { errorBody, LivefxError, statusOf, toErrorBody, type ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { LivefxMetrics } from '../metrics.js';
import { AccessError } from '../auth/access.js';
import { bodyTooLargeMessage } from './request-limits.js';

/** What fastify and its plugins refuse on their own (status from their error), by the API's code for it. */
const FRAMEWORK_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  404: 'not_found',
  413: 'payload_too_large',
  414: 'path_too_long',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
};

/** Clearer words than fastify's for the refusals a client meets most. */
const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'this route does not take a body of this Content-Type (JSON routes take application/json)',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'the body is empty but Content-Type is application/json: send a JSON value or no Content-Type',
  FST_ERR_CTP_INVALID_JSON_BODY: 'the body is not valid JSON',
};

/**
 * Any error as a LivefxError: ours as they are; the 4xx refusals of fastify and its plugins (bad JSON,
 * unknown Content-Type, a body or multipart form over its limit) under their documented codes; anything
 * else undefined (an internal error, answered 500 `internal_error`).
 */
export function asLivefxError(error: unknown, request: FastifyRequest, config: Pick<LivefxConfig, 'LIVEFX_HTTP_BODY_MAX_KB' | 'LIVEFX_SDP_MAX_KB'>): LivefxError | undefined {
  if (error instanceof LivefxError) return error;
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  const code = FRAMEWORK_CODES[status] ?? 'invalid_request';
  if (code === 'payload_too_large') return new LivefxError(code, bodyTooLargeMessage(request, config), { cause: error });
  const frameworkCode = (error as { code?: unknown }).code;
  const message = (typeof frameworkCode === 'string' ? FRAMEWORK_MESSAGES[frameworkCode] : undefined) ?? (error as Error).message;
  return new LivefxError(code, message || STATUS_CODES[statusOf(code)] || 'refused', { cause: error });
}

export interface ErrorHandlerOptions {
  config: Pick<LivefxConfig, 'LIVEFX_HTTP_BODY_MAX_KB' | 'LIVEFX_SDP_MAX_KB'>;
  metrics: LivefxMetrics;
  log: Logger;
}

/**
 * The one error handler of the HTTP API: routes just throw. A LivefxError is answered with its status
 * and `{ error: { code, message } }`, framework refusals with their documented codes, and anything
 * else is logged and answered 500 `internal_error` (its message is not sent: it may hold internals).
 */
/** How long a client refused for lack of capacity (`no_capacity`) should wait before trying again. */
export const NO_CAPACITY_RETRY_S = 5;

export function registerErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions): void {
  app.setErrorHandler((error, request, reply) => {
    const refusal = asLivefxError(error, request, options.config);
    if (!refusal) options.log.error({ err: error, method: request.method, url: request.url.split('?')[0] }, 'request failed');
    if (refusal instanceof AccessError) {
      options.metrics.accessRefusals.inc({ code: refusal.code });
      if (refusal.httpStatus === 401) reply.header('WWW-Authenticate', `Bearer realm="livefx", error="${refusal.code === 'unauthorized' ? 'invalid_request' : 'invalid_token'}"`);
    }
    // Every node full (streams or viewers): the client is told when to try again.
    if (refusal?.code === 'no_capacity' && !reply.hasHeader('retry-after')) reply.header('Retry-After', String(NO_CAPACITY_RETRY_S));
    const { status, body } = toErrorBody(refusal ?? error);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const { status, body } = toErrorBody(new LivefxError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`));
    return reply.code(status).send(body);
  });
}

/**
 * The router's own refusals (a path whose percent escapes do not decode to UTF-8, a path parameter
 * over fastify's 100 characters), which never reach the error handler, in the same shape.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const refusal =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new LivefxError('path_too_long', 'a part of the URL path is longer than 100 characters')
      : new LivefxError('invalid_url', error.code === 'FST_ERR_BAD_URL' ? 'the URL path is not valid: a percent escape does not decode to UTF-8' : error.message);
  const { status, body } = toErrorBody(refusal);
  void reply.code(status).send(body);
}

/** Requests Node's HTTP parser refuses before fastify sees them (bad framing, headers over 16 KiB), answered in the same shape. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new LivefxError('headers_too_large', 'the request headers (or the URL) are larger than the 16 KiB allowed')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new LivefxError('request_timeout', 'the request did not arrive in time')
        : new LivefxError('malformed_request', `the request is not valid HTTP (${error.code ?? 'parse error'})`);
  const { status, body: json } = toErrorBody(refusal);
  // An answer to HEAD carries no body (a client would read it as the next response); so when the method is unknown, the status says it all.
  const method = /^([A-Z]+) /.exec((error as { rawPacket?: Buffer }).rawPacket?.subarray(0, 10).toString('latin1') ?? '')?.[1];
  const head = method === undefined || method === 'HEAD';
  const body = JSON.stringify(json);
  // As Node does: only a connection that has been sent nothing yet gets an answer (else it would follow another response).
  if (socket.writable && socket.bytesWritten === 0) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${head ? '' : body}`);
  }
  socket.destroy(error);
}

/** A refusal answered before routing (rate limits, shutdown), in the same shape as the error handler's. */
export function sendRefusal(reply: FastifyReply, refusal: LivefxError): FastifyReply {
  return reply.code(refusal.httpStatus).send(errorBody(refusal.code, refusal.message, refusal.details));
}
