import type { FastifyInstance } from 'fastify';
import { LivefxError } from '../../core/errors.js';
import { CrossOriginPolicy } from './cross-origin-policy.js';

/** A route family another origin may call, and the methods it takes there. */
interface PreflightTarget {
  url: string;
  methods: readonly string[];
  /** WHIP and WHEP endpoints say which offer type they take (RFC 9725: `Accept-Post` on OPTIONS). */
  acceptsSdp?: boolean;
}

const TARGETS: readonly PreflightTarget[] = [
  { url: '/whip/:id', methods: ['POST'], acceptsSdp: true },
  { url: '/whip/:id/:session', methods: ['PATCH', 'DELETE'] },
  { url: '/whep/:id', methods: ['POST'], acceptsSdp: true },
  { url: '/whep/:id/:session', methods: ['PATCH', 'DELETE'] },
  { url: '/hls/:id/:file', methods: ['GET', 'HEAD'] },
  { url: '/v1/*', methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
];

/** Bearer tokens, SDP bodies, WHIP's conditional PATCH and players' byte ranges. */
const ALLOWED_REQUEST_HEADERS = 'Authorization, Content-Type, If-Match, Range';
/** Browsers cap it (Chromium at 2 h): one preflight per URL an hour at most. */
const PREFLIGHT_MAX_AGE_S = 3600;

function refusal(surface: string, origin: string): LivefxError {
  return surface === 'api'
    ? new LivefxError('origin_not_allowed', `pages on ${origin} may not call the /v1 API: it answers another origin only when LIVEFX_CORS_ORIGINS names it`)
    : new LivefxError('origin_not_allowed', `pages on ${origin} may not call livefx's WHIP, WHEP and HLS routes: add the origin to LIVEFX_CORS_ORIGINS`);
}

/**
 * OPTIONS on the routes other origins may call: the CORS preflight of a browser on another origin
 * (allowed methods and headers, or 403 `origin_not_allowed`), and what a WHIP client asks before
 * its offer (`Allow`, `Accept-Post: application/sdp`). The allowed origin itself is added with the
 * other cross-origin headers (security-headers.ts), as on every answer of these routes.
 */
export function registerPreflightRoutes(app: FastifyInstance, policy: CrossOriginPolicy): void {
  for (const target of TARGETS) {
    const allow = ['OPTIONS', ...target.methods].join(', ');
    app.options(target.url, async (request, reply) => {
      reply.header('Allow', allow);
      if (target.acceptsSdp) reply.header('Accept-Post', 'application/sdp');
      const origin = request.headers.origin;
      if (origin !== undefined && request.headers['access-control-request-method'] !== undefined) {
        const surface = CrossOriginPolicy.surfaceOf(request.url.split('?', 1)[0]!);
        if (policy.allowOrigin(surface, origin) === undefined) throw refusal(surface, origin);
        reply.header('Access-Control-Allow-Methods', target.methods.join(', '));
        reply.header('Access-Control-Allow-Headers', ALLOWED_REQUEST_HEADERS);
        reply.header('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S));
      }
      return reply.code(204).send();
    });
  }
}
