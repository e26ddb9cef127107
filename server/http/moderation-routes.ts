import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChatModeration } from '../audience/chat-moderation.js';
import { MODERATION_ACTIONS, type ModerationActor } from '../audience/moderation-protocol.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { LivefxError } from '../../core/errors.js';
import { findStream } from './stream-routes.js';
import { passOnToOwner, type RemoteStreams } from '../cluster/owner-requests.js';

/** Who acted, from the principal access control found (`/v1/streams/:id/moderation/*` needs a stream operator). */
function requestActor(request: FastifyRequest): ModerationActor {
  const principal = request.principal;
  return { by: principal.role === 'anonymous' ? 'operator' : principal.role, ...('tokenId' in principal && principal.tokenId ? { tokenId: principal.tokenId } : {}), via: 'http' };
}

/** Chat moderation over HTTP, the same actions as on the `/operator` socket: `POST /v1/streams/:id/moderation/<action>`; a stream another node owns is moderated there (`remote`, with LIVEFX_REDIS_URL). */
export function registerModerationRoutes(app: FastifyInstance, registry: StreamRegistry, moderation: ChatModeration, remote?: RemoteStreams): void {
  const passOn = (request: FastifyRequest<{ Params: { id: string } }>) => passOnToOwner(request, remote, registry.get(request.params.id) !== undefined);
  app.get<{ Params: { id: string } }>('/v1/streams/:id/moderation', async (request) => {
    const passed = await passOn(request);
    return passed ? passed.answer : moderation.view(findStream(registry, request.params.id).id);
  });

  for (const action of MODERATION_ACTIONS) {
    app.post<{ Params: { id: string } }>(`/v1/streams/:id/moderation/${action}`, async (request) => {
      const passed = await passOn(request);
      if (passed) return passed.answer;
      const stream = findStream(registry, request.params.id);
      const body = request.body ?? {};
      if (typeof body !== 'object' || Array.isArray(body)) throw new LivefxError('invalid_request', `body: expected a JSON object`);
      return { ...moderation.apply(action, { ...body, streamId: stream.id }, requestActor(request)), ...moderation.state(stream.id) };
    });
  }
}
