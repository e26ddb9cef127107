import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodType } from 'zod';
import { LivefxError } from '../../core/errors.js';
import type { Planner } from '../../studio/planner.js';
import type { StoryboardStore, StudioCaller } from '../../studio/ports.js';
import { storyboardBodySchema, storyboardRequestSchema, type Storyboard, type StoryboardBody } from '../../studio/storyboard.js';
import type { StudioSources } from '../../studio/studio-sources.js';
import type { TemplateFolder } from '../../studio/template-folder.js';
import type { Principal } from '../auth/access.js';

export interface StoryboardRoutesOptions {
  store: StoryboardStore;
  planner: Planner;
  templates: TemplateFolder;
  sources: StudioSources;
}

/** The studio's view of who calls (the access hook has already let only admins and operators through). */
export function studioCaller(principal: Principal): StudioCaller {
  if (principal.role === 'admin') return { role: 'admin', label: principal.label };
  if (principal.role === 'operator') return { role: 'operator', label: principal.label, ...(principal.streamId !== undefined ? { streamId: principal.streamId } : {}) };
  throw new LivefxError('forbidden', 'the studio needs an admin or operator token');
}

function parse<T>(schema: ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new LivefxError('invalid_request', `${field}: ${issue.message}`, { details: { field } });
}

/**
 * POST/GET /v1/video/storyboards, GET/PATCH/DELETE /v1/video/storyboards/:id, GET /v1/video/templates and
 * GET/PUT/DELETE /v1/video/templates/:name. Handlers throw LivefxError; the server's error handler renders it. Template uploads arrive as raw JSON text, so a broken file is
 * refused with the studio's own message and size limit.
 */
export async function registerStoryboardRoutes(app: FastifyInstance, options: StoryboardRoutesOptions): Promise<void> {
  await app.register(async (scope) => {
    // Template bodies stay text here (parsed by the template folder); storyboard bodies are parsed as usual.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string', bodyLimit: Math.max(options.templates.maxBytes * 4, 1024 * 1024) }, (request, text, done) => {
      if (request.routeOptions.url === '/v1/video/templates/:name') return done(null, text);
      if (text === '' || (typeof text === 'string' && text.trim() === '')) return done(null, undefined);
      try {
        done(null, JSON.parse(text as string));
      } catch (error) {
        done(new LivefxError('invalid_request', `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`), undefined);
      }
    });
    registerStoryboards(scope, options);
    registerTemplates(scope, options);
  });
}

function registerStoryboards(app: FastifyInstance, options: StoryboardRoutesOptions): void {
  const base = '/v1/video/storyboards';
  const { store, planner, sources } = options;

  /** A storyboard this caller may see: an operator of one stream sees those built only from its recordings. */
  const readable = async (request: FastifyRequest, id: string): Promise<Storyboard> => {
    const storyboard = await store.get(id);
    if (!storyboard) throw new LivefxError('storyboard_not_found', `no storyboard with id "${id}"`);
    await checkSources(request, storyboard);
    return storyboard;
  };
  const checkSources = async (request: FastifyRequest, body: StoryboardBody): Promise<void> => {
    const ids = new Set(body.shots.flatMap((shot) => (shot.source && 'recording_id' in shot.source ? [shot.source.recording_id] : [])));
    if (ids.size > 0) await sources.recordings(studioCaller(request.principal), [...ids]);
  };

  app.post(base, async (request, reply: FastifyReply) => {
    const body = parse(storyboardRequestSchema, request.body);
    const caller = studioCaller(request.principal);
    const planned = await planner.plan(body, caller);
    const storyboard = await store.create(planned.body, planned.provenance);
    return reply.code(201).header('location', `${base}/${storyboard.id}`).send(storyboard);
  });

  app.get(base, async (request) => {
    const all = await store.list();
    // An operator of one stream lists only storyboards it may read.
    const readable = await Promise.all(all.map((storyboard) => checkSources(request, storyboard).then(() => true, () => false)));
    return all.filter((_storyboard, index) => readable[index]);
  });

  app.get<{ Params: { id: string } }>(`${base}/:id`, async (request) => readable(request, request.params.id));

  app.patch<{ Params: { id: string } }>(`${base}/:id`, async (request) => {
    const current = await readable(request, request.params.id);
    if (!request.body || typeof request.body !== 'object' || Array.isArray(request.body)) throw new LivefxError('invalid_request', 'body: send a JSON object with the fields to replace');
    const { id: _id, provenance: _provenance, created_at: _created, updated_at: _updated, ...stored } = current;
    const patch = request.body as Record<string, unknown>;
    for (const key of ['id', 'provenance', 'created_at', 'updated_at']) if (key in patch) throw new LivefxError('invalid_request', `${key}: cannot be changed`, { details: { field: key } });
    // Shots are renumbered and retimed from their order and lengths, so a client may reorder, delete and retime freely.
    const merged = { ...stored, ...patch } as Record<string, unknown>;
    if (Array.isArray(patch.shots)) merged.shots = retimed(patch.shots);
    // null removes an optional part (the studio page's "no music").
    for (const key of ['music', 'voiceover']) if (patch[key] === null) delete merged[key];
    const body = parse(storyboardBodySchema, merged);
    await checkSources(request, body);
    for (const shot of body.shots) if (shot.source && 'asset_id' in shot.source) await sources.assetFile(shot.source.asset_id);
    if (body.music) await sources.checkMusicTrack(body.music.track);
    const total = Math.round(body.shots.reduce((sum, shot) => sum + shot.duration, 0) * 1000) / 1000;
    if (Array.isArray(patch.shots) && patch.duration_s === undefined) body.duration_s = Math.min(180, Math.max(5, total));
    const replaced = await store.replace(current.id, body);
    if (!replaced) throw new LivefxError('storyboard_not_found', `no storyboard with id "${current.id}"`);
    return replaced;
  });

  app.delete<{ Params: { id: string } }>(`${base}/:id`, async (request, reply) => {
    const storyboard = await readable(request, request.params.id);
    await store.delete(storyboard.id);
    return reply.code(204).send();
  });
}

function retimed(shots: unknown[]): unknown[] {
  let start = 0;
  return shots.map((shot, index) => {
    if (!shot || typeof shot !== 'object' || Array.isArray(shot)) return shot;
    const duration = (shot as { duration?: unknown }).duration;
    const placed = { ...(shot as Record<string, unknown>), index, start: Math.round(start * 1000) / 1000 };
    if (typeof duration === 'number' && Number.isFinite(duration)) start += duration;
    return placed;
  });
}

function registerTemplates(app: FastifyInstance, options: StoryboardRoutesOptions): void {
  const { templates } = options;
  const base = '/v1/video/templates';
  app.get(base, async () => templates.list());
  app.get<{ Params: { name: string } }>(`${base}/:name`, async (request) => {
    const document = await templates.get(request.params.name);
    if (!document) throw new LivefxError('template_not_found', `no template named "${request.params.name.slice(0, 100)}" (GET ${base} lists them)`);
    return document;
  });
  app.put<{ Params: { name: string } }>(`${base}/:name`, async (request, reply) => {
    const text = typeof request.body === 'string' ? request.body : Buffer.isBuffer(request.body) ? request.body.toString() : undefined;
    if (text === undefined || text.trim() === '') throw new LivefxError('invalid_request', 'send the template as a JSON document (Content-Type: application/json)');
    const { summary, created } = await templates.put(request.params.name, text);
    return reply.code(created ? 201 : 200).send(summary);
  });
  app.delete<{ Params: { name: string } }>(`${base}/:name`, async (request, reply) => {
    await templates.remove(request.params.name);
    return reply.code(204).send();
  });
}
