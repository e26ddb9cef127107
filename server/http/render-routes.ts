import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LivefxError } from '../../core/errors.js';
import type { RemoteMedia } from '../../core/cluster-media/remote-media.js';
import type { Job } from '../../core/jobs/job-queue.js';
import type { StudioCaller } from '../../studio/ports.js';
import { renderErrorView } from '../../studio/render-error.js';
import type { RenderService, StoredRenderResult } from '../../studio/render-service.js';
import { renderRequestSchema } from '../../studio/storyboard.js';
import type { IdempotencyKeys } from './idempotency-keys.js';
import { notFound, relayOriginOutput } from './origin-output.js';
import { sendRangedFile } from './ranged-file.js';
import { parseBody } from './validation.js';

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.jpg': 'image/jpeg',
  '.vtt': 'text/vtt; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/** The studio's caller from the request's principal (the access hook admitted only admins and operators). */
export function studioCaller(request: FastifyRequest): StudioCaller {
  const principal = request.principal;
  if (principal.role === 'admin') return { role: 'admin', label: principal.label };
  if (principal.role === 'operator') return { role: 'operator', label: principal.label, ...(principal.streamId ? { streamId: principal.streamId } : {}) };
  throw new LivefxError('forbidden', 'studio renders need an admin or operator token');
}

/** POST/GET/DELETE /v1/video/renders…: studio renders (jobs of kind `render`) and their files. */
export function registerRenderRoutes(app: FastifyInstance, renders: RenderService, idempotency: IdempotencyKeys, remote?: RemoteMedia): void {
  const queue = renders.queue;
  const base = '/v1/video/renders';

  // An operator of one stream sees only the renders asked with a token of that stream.
  const visibleTo = (job: Job, caller: StudioCaller): boolean => caller.streamId === undefined || (job.params as { caller?: StudioCaller }).caller?.streamId === caller.streamId;
  const findRender = async (id: string, request: FastifyRequest): Promise<Job> => {
    const job = await queue.get(id);
    if (!job || job.kind !== 'render' || !visibleTo(job, studioCaller(request))) throw new LivefxError('render_not_found', `no render with id "${id}"`);
    return job;
  };
  const fileUrl = (id: string, name: string | null): string | null => (name ? `${base}/${id}/files/${name}` : null);

  const view = (job: Job): Record<string, unknown> => {
    const stored = job.status === 'done' ? (job.result as StoredRenderResult | null) : null;
    const result = stored
      ? { ...stored, file: fileUrl(job.id, stored.file), thumbnail: fileUrl(job.id, stored.thumbnail), captions: fileUrl(job.id, stored.captions), manifest: fileUrl(job.id, 'manifest.json') }
      : undefined;
    return {
      id: job.id,
      status: job.status,
      progress: job.progress,
      stage: job.stage,
      ...(result ? { result } : {}),
      ...(job.error ? { error: renderErrorView(job.error) } : {}),
      created_at: job.createdAt,
      updated_at: job.updatedAt,
    };
  };

  app.post(base, async (request, reply) => {
    const body = parseBody(renderRequestSchema, request.body);
    const keyed = await idempotency.jobFor('renders', request.headers['idempotency-key'], request.body);
    const job = await renders.submit(body, studioCaller(request), keyed ? { id: keyed.id } : {});
    if (keyed?.replayed) reply.header('Idempotent-Replayed', 'true');
    return reply.code(202).header('Location', `${base}/${job.id}`).send({ id: job.id, status: keyed?.replayed ? job.status : 'queued' });
  });

  app.get(base, async (request) => {
    const caller = studioCaller(request);
    return { renders: (await queue.list({ kind: 'render' })).filter((job) => visibleTo(job, caller)).map(view) };
  });

  app.get<{ Params: { id: string } }>(`${base}/:id`, async (request) => view(await findRender(request.params.id, request)));

  app.delete<{ Params: { id: string } }>(`${base}/:id`, async (request) => {
    const job = await findRender(request.params.id, request);
    const active = job.status === 'queued' || job.status === 'running';
    if (active) {
      await queue.cancel(job.id);
      await queue.settled(job.id);
    }
    await renders.deleteOutputs(job.id);
    // A finished render goes entirely; a cancelled one stays visible as `cancelled`.
    if (!active) await queue.remove(job.id);
    return { id: job.id, status: active ? 'cancelled' : 'deleted' };
  });

  app.get<{ Params: { id: string; name: string } }>(`${base}/:id/files/:name`, async (request, reply) => {
    const job = await findRender(request.params.id, request);
    const name = request.params.name;
    const type = CONTENT_TYPES[path.extname(name)];
    // Only a finished render's published files: nothing partial is ever served.
    if (job.status !== 'done' || !/^[\w-]+\.[a-z0-9]+$/.test(name) || !type) throw new LivefxError('file_not_found', `no file "${name}" in render ${job.id}${job.status === 'done' ? '' : ` (status ${job.status})`}`);
    const file = path.join(renders.renderDir(job.id), name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return (await relayOriginOutput(reply, remote, job, 'renders', name, type)) ?? notFound(`no file "${name}" in render ${job.id}`);
    return sendRangedFile(reply, request.headers.range, file, info.size, type);
  });
}
