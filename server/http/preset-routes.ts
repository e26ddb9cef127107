import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { applyPreset } from '../streams/chain-control.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import type { PresetStore } from '../storage/preset-store.js';
import { findStream } from './stream-routes.js';
import { parseBody } from './validation.js';

const applyBody = z.object({ name: z.string().min(1).max(200) }).strict();

/** Named chain specs (CRUD under /v1/presets) and applying one to a stream's chain. */
export function registerPresetRoutes(app: FastifyInstance, registry: StreamRegistry, presets: PresetStore): void {
  app.get('/v1/presets', async () => ({ presets: await presets.list() }));

  app.get<{ Params: { name: string } }>('/v1/presets/:name', async (request) => presets.require(request.params.name));

  app.put<{ Params: { name: string } }>('/v1/presets/:name', async (request, reply) => {
    const { preset, created } = await presets.save(request.params.name, request.body, `http ${request.ip}`);
    return reply.code(created ? 201 : 200).send(preset);
  });

  app.delete<{ Params: { name: string } }>('/v1/presets/:name', async (request) => {
    await presets.delete(request.params.name, `http ${request.ip}`);
    return { deleted: request.params.name };
  });

  app.post<{ Params: { id: string } }>('/v1/streams/:id/transforms/preset', async (request) => {
    const stream = findStream(registry, request.params.id);
    const { name } = parseBody(applyBody, request.body);
    return applyPreset(stream, presets, name, `http ${request.ip}`);
  });
}
