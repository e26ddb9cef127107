import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { transformParamSchemas } from '../../transforms/chain-spec.js';
import { changeChain, patchTransform } from '../streams/chain-control.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { findStream } from './stream-routes.js';

/** Operator control over HTTP: the whole chain spec (GET, PUT) and one transform (PATCH). */
export function registerTransformRoutes(app: FastifyInstance, registry: StreamRegistry): void {
  // The operator console builds its controls from these: one schema, validated here, shown there.
  const catalog = {
    transforms: Object.entries(transformParamSchemas).map(([name, schema]) => ({ name, params: z.toJSONSchema(schema, { io: 'input' }) })),
  };
  app.get('/v1/transforms', async () => catalog);

  app.get<{ Params: { id: string } }>('/v1/streams/:id/transforms', async (request) => findStream(registry, request.params.id).chain);

  app.put<{ Params: { id: string } }>('/v1/streams/:id/transforms', async (request) =>
    changeChain(findStream(registry, request.params.id), request.body, `http ${request.ip}`),
  );

  app.patch<{ Params: { id: string; index: string } }>('/v1/streams/:id/transforms/:index', async (request) =>
    patchTransform(findStream(registry, request.params.id), Number(request.params.index), request.body, `http ${request.ip}`),
  );
}
