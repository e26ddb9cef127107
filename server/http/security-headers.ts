import type { FastifyInstance } from 'fastify';
import { CrossOriginPolicy } from './cross-origin-policy.js';

/**
 * The pages load only their own scripts, and inline only the ones named by hash in `inlineScripts`
 * (the watch page's early WHEP start; no inline style attributes), hls.js feeds
 * MediaSource from blob: URLs and may run its worker from one, and everything live goes over
 * this origin's WebSocket — and, on a node of several, to the other nodes (`connectOrigins`: a
 * WHEP request follows its 307 to the stream's owner). Who may frame a page differs (the embed player).
 */
export function contentSecurityPolicy(frameAncestors: string, connectOrigins: readonly string[] = [], inlineScripts: readonly string[] = []): string {
  return [
    "default-src 'self'",
    ["script-src 'self'", ...inlineScripts].join(' '),
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    ["connect-src 'self' ws: wss:", ...connectOrigins].join(' '),
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/** What a cross-origin WHIP/WHEP client and player must read: the session URL, ICE servers, the entity tag, the accepted offer type, retry and auth hints. */
const EXPOSED_HEADERS = 'Location, Link, ETag, Accept-Post, Retry-After, WWW-Authenticate, Content-Range';

/**
 * Security headers on every HTTP response. Tokens travel in page URLs (`?token=`), so no referrer
 * ever leaves; camera and microphone are this origin's only. CORS headers go only on the media
 * routes and (for origins listed by name) the /v1 API, as `policy` says; /embed alone may be framed.
 */
export function registerSecurityHeaders(
  app: FastifyInstance,
  options: { tls: boolean; policy: CrossOriginPolicy; clusterOrigins?: (() => readonly string[]) | undefined; inlineScripts?: readonly string[] | undefined },
): void {
  const { policy } = options;
  const inline = options.inlineScripts ?? [];
  const build = (key: string, origins: readonly string[]) => ({
    key,
    page: contentSecurityPolicy("'none'", origins, inline),
    embed: contentSecurityPolicy(policy.embedFrameAncestors, origins, inline),
  });
  // Rebuilt only when the other nodes change (their origins come from the last heartbeat).
  let built = build('', []);
  const policies = (): typeof built => {
    const origins = options.clusterOrigins?.() ?? [];
    const key = origins.join(' ');
    if (key !== built.key) built = build(key, origins);
    return built;
  };
  app.addHook('onSend', async (request, reply, payload) => {
    const surface = CrossOriginPolicy.surfaceOf(request.url.split('?', 1)[0]!);
    const csp = policies();
    reply.header('Content-Security-Policy', surface === 'embed' ? csp.embed : csp.page);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    // X-Frame-Options cannot name origins: the embed player relies on frame-ancestors alone.
    if (surface !== 'embed') reply.header('X-Frame-Options', 'DENY');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    reply.header('Cross-Origin-Resource-Policy', policy.resourcePolicy(surface));
    reply.header('Permissions-Policy', 'camera=(self), microphone=(self), geolocation=(), payment=(), usb=()');
    if (options.tls) reply.header('Strict-Transport-Security', 'max-age=31536000');
    const allowOrigin = policy.allowOrigin(surface, request.headers.origin);
    if (allowOrigin !== undefined) {
      reply.header('Access-Control-Allow-Origin', allowOrigin);
      reply.header('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    }
    if (policy.variesByOrigin(surface)) {
      const vary = reply.getHeader('Vary');
      reply.header('Vary', vary === undefined || vary === '' ? 'Origin' : `${String(vary)}, Origin`);
    }
    return payload;
  });
}
