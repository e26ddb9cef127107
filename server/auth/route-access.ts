import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  type Authenticator,
  type GuardedStream,
  type Principal,
  presentedToken,
  requireAdmin,
  requireAnyOperator,
  requireGlobalOperator,
  requireOperatorOf,
  requireViewerOf,
} from './access.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request (set by the access hook before any handler runs). */
    principal: Principal;
  }
}

/** Who may call a route. Streams are named by the route's `:id`. */
export type AccessRule = 'public' | 'stream-key' | 'media-token' | 'admin' | 'any-operator' | 'global-operator' | 'stream-operator' | 'stream-viewer';

const PAGES = new Set(['/', '/publish', '/watch', '/embed', '/operator', '/review', '/studio']);

/**
 * The whole access policy of the HTTP API in one place. A route not named here is admin-only
 * (closed by default), so a new route is never open by accident.
 */
export function accessRuleFor(method: string, route: string): AccessRule {
  // A CORS preflight never carries credentials; it only asks what the real request may send.
  if (method === 'OPTIONS') return 'public';
  if (PAGES.has(route) || route === '/healthz' || route === '/readyz' || route === '/v1/auth/whoami' || /^\/(assets|static|vendor)\//.test(route)) return 'public';
  if (route === '/v1/transforms' && method === 'GET') return 'public';
  // Verifiers need the provenance public keys without an account; rotating them stays admin-only (the default).
  if (route === '/v1/provenance/key' && method === 'GET') return 'public';
  // Workers' media transfers carry a signed media token, checked by the route itself (API tokens open nothing there).
  if (route.startsWith('/internal/media/')) return 'media-token';
  // WHIP checks the stream key (and a session's DELETE its unguessable session URL) itself.
  if (route.startsWith('/whip/')) return 'stream-key';
  if (route.startsWith('/whep/') || route.startsWith('/hls/')) return 'stream-viewer';
  if (route === '/v1/streams') return method === 'GET' ? 'global-operator' : 'admin';
  if (route === '/v1/streams/:id') return method === 'GET' ? 'stream-viewer' : 'stream-operator';
  if (route.startsWith('/v1/streams/:id/')) return 'stream-operator';
  if (/^\/v1\/(presets|luts|images|music)(\/|$)/.test(route)) return 'any-operator';
  if (/^\/v1\/(recordings|video\/highlights)(\/|$)/.test(route)) return 'global-operator';
  // The studio: any operator; which recordings it may use is checked per recording (an operator of one stream: that stream's).
  if (/^\/v1\/video\/(storyboards|templates|renders)(\/|$)/.test(route)) return 'any-operator';
  return 'admin';
}

const describe = (request: FastifyRequest): string => `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;

/**
 * Registers the access hook: identifies the caller from the bearer token (or `?token=`) and checks
 * the route's rule before the body is even read. 401 without a (valid) token, 403 with a token
 * that does not reach this route.
 */
/** Lets a request through a rule without a token (a signed redirect or placement token another node gave it). */
export type AccessGrant = (request: FastifyRequest, rule: AccessRule, streamId: string) => boolean;

export function registerRouteAccess(app: FastifyInstance, auth: Authenticator, findStream: (id: string) => GuardedStream | undefined, grant?: AccessGrant): void {
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route === undefined) return; // no such route: the not-found handler answers
    const rule = accessRuleFor(request.method, route);
    if (rule === 'stream-key' || rule === 'media-token') {
      request.principal = { role: 'anonymous' };
      return;
    }
    const principal = (request.principal = await auth.identify(presentedToken(request.headers.authorization, request.query)));
    const what = describe(request);
    const streamId = (request.params as { id?: string } | undefined)?.id ?? '';
    if (grant?.(request, rule, streamId)) return;
    switch (rule) {
      case 'public':
        return;
      case 'admin':
        return requireAdmin(principal, what);
      case 'any-operator':
        return requireAnyOperator(principal, what);
      case 'global-operator':
        return requireGlobalOperator(principal, what);
      case 'stream-operator':
        return requireOperatorOf(principal, streamId, what);
      case 'stream-viewer': {
        const stream = findStream(streamId);
        // An unknown stream is the handler's 404.
        if (stream) requireViewerOf(principal, stream, what);
        return;
      }
    }
  });
}
