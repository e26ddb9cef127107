import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseChainSpec, transformParamSchemas, type ChainSpec } from '../../transforms/chain-spec.js';
import { ChainRejectedError } from '../pipeline/frame-pipeline.js';
import { MissingLutError, type LiveStream } from '../streams/live-stream.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { HttpError } from './http-error.js';
import { findStream } from './stream-routes.js';
import { parseBody } from './validation.js';

const patchBody = z
  .object({ enabled: z.boolean().optional(), params: z.record(z.string(), z.unknown()).optional() })
  .strict()
  .refine((body) => body.enabled !== undefined || body.params !== undefined, { message: 'give "enabled", "params" or both' });

async function applySpec(stream: LiveStream, input: unknown, changedBy: string): Promise<ChainSpec> {
  if (stream.state === 'ended') throw new HttpError(409, 'stream_ended', 'this stream has ended');
  const parsed = parseChainSpec(input);
  if (!parsed.ok) throw new HttpError(400, 'invalid_chain', parsed.error);
  try {
    await stream.setChain(parsed.spec, changedBy);
  } catch (error) {
    if (error instanceof MissingLutError) throw new HttpError(400, 'lut_not_found', error.message);
    if (error instanceof ChainRejectedError) throw new HttpError(422, 'chain_rejected', error.message);
    throw error;
  }
  return stream.chain;
}

/** Operator control over HTTP: the whole chain spec (GET, PUT) and one transform (PATCH). */
export function registerTransformRoutes(app: FastifyInstance, registry: StreamRegistry): void {
  // The operator console builds its controls from these: one schema, validated here, shown there.
  const catalog = {
    transforms: Object.entries(transformParamSchemas).map(([name, schema]) => ({ name, params: z.toJSONSchema(schema, { io: 'input' }) })),
  };
  app.get('/v1/transforms', async () => catalog);

  app.get<{ Params: { id: string } }>('/v1/streams/:id/transforms', async (request) => findStream(registry, request.params.id).chain);

  app.put<{ Params: { id: string } }>('/v1/streams/:id/transforms', async (request) =>
    applySpec(findStream(registry, request.params.id), request.body, `http ${request.ip}`),
  );

  app.patch<{ Params: { id: string; index: string } }>('/v1/streams/:id/transforms/:index', async (request) => {
    const stream = findStream(registry, request.params.id);
    const index = Number(request.params.index);
    const current = stream.chain.transforms;
    if (!Number.isInteger(index) || index < 0 || index >= current.length) {
      throw new HttpError(404, 'transform_not_found', `no transform at index ${request.params.index} (the chain has ${current.length})`);
    }
    const body = parseBody(patchBody, request.body);
    const transforms = current.map((entry, position) =>
      position === index ? { ...entry, enabled: body.enabled ?? entry.enabled, params: { ...entry.params, ...(body.params ?? {}) } } : entry,
    );
    return applySpec(stream, { transforms }, `http ${request.ip}`);
  });
}
