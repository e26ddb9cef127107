import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Authenticator, Principal } from '../auth/access.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import type { LiveStream } from '../streams/live-stream.js';
import { LivefxError } from '../../core/errors.js';
import { findStream, streamUrls } from './stream-routes.js';
import { parseBody } from './validation.js';

const createTokenBody = z
  .object({
    role: z.enum(['admin', 'operator'], { error: 'must be "admin" or "operator"' }),
    /** Limits an operator token to one stream; absent: every stream. */
    streamId: z.string().min(1).max(64).optional(),
    label: z.string().trim().min(1).max(200).optional(),
  })
  .strict()
  .refine((body) => body.role === 'operator' || body.streamId === undefined, { path: ['streamId'], error: 'only operator tokens can be limited to one stream' });

const viewerLinkBody = z
  .object({ ttlS: z.number().int('must be a whole number of seconds').min(60, 'must be at least 60 s').max(365 * 86400, 'must be at most a year').optional() })
  .strict();

/** What GET /v1/auth/whoami says of a principal (never a secret). */
function describePrincipal(principal: Principal): Record<string, unknown> {
  switch (principal.role) {
    case 'admin':
      return { role: 'admin', label: principal.label, ...(principal.tokenId ? { tokenId: principal.tokenId } : {}) };
    case 'operator':
      return { role: 'operator', label: principal.label, tokenId: principal.tokenId, ...(principal.streamId ? { streamId: principal.streamId } : {}) };
    case 'streamer':
      return { role: 'streamer', streamId: principal.streamId };
    case 'viewer':
      return { role: 'viewer', streamId: principal.streamId, expiresAt: new Date(principal.expiresAt * 1000).toISOString() };
    case 'anonymous':
      return { role: 'anonymous' };
  }
}

/** A signed watch link of one stream, valid for ttlS seconds. */
export function viewerLink(auth: Authenticator, stream: LiveStream, ttlS: number): { token: string; expiresAt: string; url: string } {
  const { token, expiresAt } = auth.viewerLinks.sign(stream.id, ttlS);
  return { token, expiresAt: new Date(expiresAt * 1000).toISOString(), url: `/watch?stream=${stream.id}&token=${token}` };
}

/**
 * Tokens and links: `/v1/tokens` (admin: issue, list, revoke), `/v1/auth/whoami`, viewer links of
 * private streams, stream-key revocation and viewer-link key rotation. Who may call each is in
 * server/auth/route-access.ts.
 */
export function registerAuthRoutes(app: FastifyInstance, auth: Authenticator, registry: StreamRegistry, defaultLinkTtlS: number): void {
  app.get('/v1/auth/whoami', async (request) => describePrincipal(request.principal));

  app.get('/v1/tokens', async () => ({ tokens: await auth.tokens.list() }));

  app.post('/v1/tokens', async (request, reply) => {
    const body = parseBody(createTokenBody, request.body);
    if (body.streamId && !registry.get(body.streamId)) throw new LivefxError('stream_not_found', `streamId: no stream with id "${body.streamId}"`);
    const issued = await auth.tokens.issue(body.role, { ...(body.streamId ? { streamId: body.streamId } : {}), ...(body.label ? { label: body.label } : {}) });
    return reply.code(201).send(issued);
  });

  app.delete<{ Params: { id: string } }>('/v1/tokens/:id', async (request) => await auth.tokens.revoke(request.params.id));

  app.post('/v1/auth/viewer-key/rotate', async () => {
    auth.viewerLinks.rotate();
    return { ok: true, message: 'every viewer link handed out before is refused from now on' };
  });

  app.post<{ Params: { id: string } }>('/v1/streams/:id/viewer-links', async (request, reply) => {
    const stream = findStream(registry, request.params.id);
    const body = parseBody(viewerLinkBody, request.body);
    return reply.code(201).send(viewerLink(auth, stream, body.ttlS ?? defaultLinkTtlS));
  });

  app.delete<{ Params: { id: string } }>('/v1/streams/:id/key', async (request) => {
    const stream = findStream(registry, request.params.id);
    const wasPublishing = stream.publishing;
    const streamKey = await stream.revokeKey();
    return { streamKey, disconnected: wasPublishing, urls: streamUrls(stream) };
  });
}
