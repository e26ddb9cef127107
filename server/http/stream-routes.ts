import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { StreamRegistry } from '../streams/stream-registry.js';
import type { LiveStream } from '../streams/live-stream.js';
import { LivefxError } from '../../core/errors.js';
import { parseBody } from './validation.js';
import { PLACEMENT_HEADER, type StreamPlacement } from '../cluster/stream-placement.js';
import { NO_CAPACITY_RETRY_S, sendRefusal } from './error-handler.js';
import type { Principal } from '../auth/access.js';
import type { StreamView } from '../streams/stream-view.js';

const createStreamBody = z
  .object({
    title: z.string().trim().min(1, 'title must not be empty').max(200),
    /** Record the session (original + transformed media and the event log); on unless the streamer opts out. */
    record: z.boolean().default(true),
    /** `private`: watched only through signed viewer links (the response carries the first one). */
    visibility: z.enum(['public', 'private'], { error: 'must be "public" or "private"' }).default('public'),
  })
  .strict();

export function streamUrls(stream: LiveStream): { publish: string; watch: string; watchHls: string; operator: string } {
  return {
    publish: `/publish?stream=${stream.id}&key=${stream.streamKey}`,
    watch: `/watch?stream=${stream.id}`,
    watchHls: `/watch?stream=${stream.id}&mode=hls`,
    operator: `/operator?stream=${stream.id}`,
  };
}

export function findStream(registry: StreamRegistry, id: string): LiveStream {
  const stream = registry.get(id);
  if (!stream) throw new LivefxError('stream_not_found', `no stream with id "${id}"`);
  return stream;
}

/** What a new stream needs beyond the registry: its operator token and, when private, its first viewer link. */
export interface StreamCredentials {
  operatorToken(stream: LiveStream): Promise<{ id: string; token: string }>;
  viewerLink(stream: LiveStream): { token: string; expiresAt: string; url: string };
  /** Makes the new stream known to the other nodes; returns the node it lives on (undefined: a single server). */
  announce(stream: LiveStream): Promise<{ id: string; url: string } | undefined>;
}

/** How a node takes part in placement: with LIVEFX_REDIS_URL, the stream may be created on another node. */
export interface StreamPlacementRole {
  /** Unset without LIVEFX_REDIS_URL: every stream is created here. */
  placement?: StreamPlacement | undefined;
  /** A draining node creates no stream itself. */
  draining(): boolean;
  /** The view of a stream another alive node owns, read from it (with LIVEFX_REDIS_URL); undefined: no such stream. */
  remoteView?: ((id: string, principal: Principal) => Promise<StreamView | undefined>) | undefined;
}

export function registerStreamRoutes(app: FastifyInstance, registry: StreamRegistry, credentials: StreamCredentials, role: StreamPlacementRole): void {
  app.post('/v1/streams', async (request, reply) => {
    const body = parseBody(createStreamBody, request.body);
    const placement = role.placement;
    const placedHere = placement?.placedHere(request.headers[PLACEMENT_HEADER]) ?? false;
    try {
      if (placement && !placedHere) {
        // A draining node is no candidate itself: the stream goes elsewhere.
        const placed = await placement.place(body);
        if (!placed.here) return reply.code(placed.status).send(placed.body);
      } else if (role.draining()) {
        throw new LivefxError('no_capacity', 'this node is draining: it takes no new stream');
      }
    } catch (error) {
      if (error instanceof LivefxError && error.code === 'no_capacity') return sendRefusal(reply.header('Retry-After', String(NO_CAPACITY_RETRY_S)), error);
      throw error;
    }
    const open = registry.openCount();
    if (open >= registry.maxStreams) {
      throw new LivefxError('too_many_streams', `this server already has ${open} streams, the most allowed (LIVEFX_MAX_STREAMS); end one (DELETE /v1/streams/:id) first`);
    }
    const stream = registry.create(body.title, { record: body.record, visibility: body.visibility });
    const node = await credentials.announce(stream);
    const operator = await credentials.operatorToken(stream);
    const link = stream.visibility === 'private' ? credentials.viewerLink(stream) : undefined;
    const urls = streamUrls(stream);
    return reply.code(201).send({
      id: stream.id,
      visibility: stream.visibility,
      streamKey: stream.streamKey,
      operatorToken: operator.token,
      operatorTokenId: operator.id,
      ...(link ? { viewerLink: link } : {}),
      ...(node ? { node } : {}),
      urls: { ...urls, operator: `${urls.operator}&token=${operator.token}`, ...(link ? { watch: link.url, watchHls: `${link.url}&mode=hls` } : {}) },
    });
  });

  app.get('/v1/streams', async () => ({ streams: registry.list().map((stream) => stream.view()) }));

  app.get<{ Params: { id: string } }>('/v1/streams/:id', async (request) => {
    const id = request.params.id;
    // Another node's stream is read from its owner; once no alive node owns it (its owner died), it is not found here either.
    const remote = !registry.get(id) && role.remoteView ? await role.remoteView(id, request.principal) : undefined;
    return remote ?? findStream(registry, id).view();
  });

  app.delete<{ Params: { id: string } }>('/v1/streams/:id', async (request) => {
    const stream = findStream(registry, request.params.id);
    await stream.end('ended through the API');
    return stream.view();
  });
}
