import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiter } from '../audience/rate-limiter.js';
import type { LivefxConfig } from '../../core/config.js';
import type { LivefxMetrics } from '../metrics.js';
import { LivefxError } from '../../core/errors.js';
import { sendRefusal } from './error-handler.js';
import { presentedToken } from '../auth/access.js';

type RequestLimitConfig = Pick<LivefxConfig, 'LIVEFX_HTTP_RATE_PER_IP' | 'LIVEFX_HTTP_RATE_PER_TOKEN' | 'LIVEFX_HLS_RATE_PER_IP'>;

/** Refusals by a size or count limit, counted in livefx_limit_refusals_total under their error code. */
const LIMIT_CODES = new Set(['too_many_streams', 'too_many_viewers', 'file_too_large']);

/** Monitoring must always get through: a probe that is refused looks like an outage. */
const EXEMPT_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** A rate of N per second allows a burst of 2N, so a page load (HTML, scripts, first API calls) is never refused. */
function limiterFor(perSecond: number): RateLimiter | undefined {
  return perSecond > 0 ? new RateLimiter({ capacity: Math.max(1, 2 * perSecond), refillPerSecond: perSecond }) : undefined;
}

/** Tokens are secrets: the limiter keys on a hash, so the key map never holds one. */
function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

/**
 * Request rate limits, checked before anything else a request costs: per client address, and per
 * presented token whatever the address. HLS playlist and segment fetches have their own, larger
 * per-address bucket, so a player keeps playing when the same address is busy with the API (and
 * API calls cannot starve its media); /healthz, /readyz and /metrics are never limited.
 */
export function registerRequestLimits(app: FastifyInstance, config: RequestLimitConfig, metrics: LivefxMetrics): void {
  app.addHook('onError', async (_request, _reply, error) => {
    if (error instanceof LivefxError && LIMIT_CODES.has(error.code)) metrics.limitRefusals.inc({ limit: error.code });
    else if ((error as { code?: unknown }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') metrics.limitRefusals.inc({ limit: 'body_too_large' });
  });
  const perAddress = limiterFor(config.LIVEFX_HTTP_RATE_PER_IP);
  const perToken = limiterFor(config.LIVEFX_HTTP_RATE_PER_TOKEN);
  const hlsPerAddress = limiterFor(config.LIVEFX_HLS_RATE_PER_IP);
  if (!perAddress && !perToken && !hlsPerAddress) return;

  const refuse = (reply: FastifyReply, waitMs: number, what: string, variable: string): FastifyReply => {
    metrics.limitRefusals.inc({ limit: variable.slice('LIVEFX_'.length).toLowerCase() });
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    return sendRefusal(reply.header('Retry-After', String(seconds)), new LivefxError('rate_limited', `too many requests ${what}: try again in ${seconds} s (limit set by ${variable})`));
  };

  app.addHook('onRequest', async (request, reply) => {
    const pathname = request.url.split('?', 1)[0]!;
    if (EXEMPT_PATHS.has(pathname)) return;
    if (pathname.startsWith('/hls/')) {
      const waitMs = hlsPerAddress?.attempt([request.ip]) ?? 0;
      if (waitMs > 0) return refuse(reply, waitMs, `for HLS media from ${request.ip}`, 'LIVEFX_HLS_RATE_PER_IP');
      return;
    }
    const token = perToken ? presentedToken(request.headers.authorization, request.query) || undefined : undefined;
    if (token !== undefined) {
      const waitMs = perToken!.attempt([tokenKey(token)]);
      if (waitMs > 0) return refuse(reply, waitMs, 'with this token', 'LIVEFX_HTTP_RATE_PER_TOKEN');
    }
    const waitMs = perAddress?.attempt([request.ip]) ?? 0;
    if (waitMs > 0) return refuse(reply, waitMs, `from ${request.ip}`, 'LIVEFX_HTTP_RATE_PER_IP');
  });
}

/** The 413 message for a body over fastify's limit: which limit applies and the variable that sets it. */
export function bodyTooLargeMessage(request: FastifyRequest, config: Pick<LivefxConfig, 'LIVEFX_HTTP_BODY_MAX_KB' | 'LIVEFX_SDP_MAX_KB'>): string {
  const sdp = /^application\/(sdp|trickle-ice-sdpfrag)/i.test(request.headers['content-type'] ?? '');
  return sdp
    ? `the SDP offer is larger than the ${config.LIVEFX_SDP_MAX_KB} KB allowed (LIVEFX_SDP_MAX_KB)`
    : `the request body is larger than the ${config.LIVEFX_HTTP_BODY_MAX_KB} KB allowed (LIVEFX_HTTP_BODY_MAX_KB)`;
}
