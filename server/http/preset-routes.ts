import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ChainControlError, applyPreset } from '../streams/chain-control.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { PresetError, type PresetStore } from '../storage/preset-store.js';
import { HttpError } from './http-error.js';
import { findStream } from './stream-routes.js';
import { parseBody } from './validation.js';

const applyBody = z.object({ name: z.string().min(1).max(200) }).strict();

async function asHttp<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PresetError) throw new HttpError(error.httpStatus, error.code, error.message);
    throw error;
  }
}

/** Named chain specs (CRUD under /v1/presets) and applying one to a stream's chain. */
export function registerPresetRoutes(app: FastifyInstance, registry: StreamRegistry, presets: PresetStore): void {
  app.get('/v1/presets', async () => ({ presets: await presets.list() }));

  app.get<{ Params: { name: string } }>('/v1/presets/:name', async (request) => asHttp(() => presets.require(request.params.name)));

  app.put<{ Params: { name: string } }>('/v1/presets/:name', async (request, reply) => {
    const { preset, created } = await asHttp(() => presets.save(request.params.name, request.body, `http ${request.ip}`));
    return reply.code(created ? 201 : 200).send(preset);
  });

  app.delete<{ Params: { name: string } }>('/v1/presets/:name', async (request) => {
    await asHttp(() => presets.delete(request.params.name, `http ${request.ip}`));
    return { deleted: request.params.name };
  });

  app.post<{ Params: { id: string } }>('/v1/streams/:id/transforms/preset', async (request) => {
    const stream = findStream(registry, request.params.id);
    const { name } = parseBody(applyBody, request.body);
    try {
      return await applyPreset(stream, presets, name, `http ${request.ip}`);
    } catch (error) {
      if (error instanceof ChainControlError) throw new HttpError(error.httpStatus, error.code, error.message);
      throw error;
    }
  });
}
