import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { transformParamSchemas } from '../../transforms/chain-spec.js';
import { changeChain, patchTransform } from '../streams/chain-control.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { findStream } from './stream-routes.js';
import { forwardedActor, passOnToOwner, type RemoteStreams } from '../cluster/owner-requests.js';
import type { LiveStream } from '../streams/live-stream.js';

/** Who changed the chain: the operator another node passed the request on for, else this request's address. */
const changedByOf = (request: FastifyRequest): string => forwardedActor(request)?.changedBy ?? `http ${request.ip}`;

/** Operator control over HTTP: the whole chain spec (GET, PUT) and one transform (PATCH); a stream another node owns is changed there (`remote`, with LIVEFX_REDIS_URL). */
export function registerTransformRoutes(app: FastifyInstance, registry: StreamRegistry, remote?: RemoteStreams): void {
  /** The stream here, else the same request passed on to its owner (access was checked here). */
  const onOwner = async (request: FastifyRequest<{ Params: { id: string } }>, here: (stream: LiveStream) => unknown): Promise<unknown> => {
    const passed = await passOnToOwner(request, remote, registry.get(request.params.id) !== undefined);
    return passed ? passed.answer : here(findStream(registry, request.params.id));
  };
  // The operator console builds its controls from these: one schema, validated here, shown there.
  const catalog = {
    transforms: Object.entries(transformParamSchemas).map(([name, schema]) => ({ name, params: z.toJSONSchema(schema, { io: 'input' }) })),
  };
  app.get('/v1/transforms', async () => catalog);

  app.get<{ Params: { id: string } }>('/v1/streams/:id/transforms', async (request) => onOwner(request, (stream) => stream.chain));

  app.put<{ Params: { id: string } }>('/v1/streams/:id/transforms', async (request) => onOwner(request, (stream) => changeChain(stream, request.body, changedByOf(request))));

  app.patch<{ Params: { id: string; index: string } }>('/v1/streams/:id/transforms/:index', async (request) =>
    onOwner(request, (stream) => patchTransform(stream, Number(request.params.index), request.body, changedByOf(request))),
  );
}
