import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MEDIA_TOKEN_HEADER, type MediaToken } from '../../core/cluster-media/media-token.js';
import { LivefxError } from '../../core/errors.js';
import { JOB_ID_PATTERN } from '../../core/jobs/job-queue.js';
import type { Recorder } from '../../recorder/recorder.js';
import { sendRangedFile } from './ranged-file.js';

export interface InternalMediaRoutesOptions {
  token: MediaToken;
  recorder: Recorder;
  dataDir: string;
  /** The folder of a job's outputs per area (highlights/<job>/, studio/renders/<job>/). */
  outputDir: { highlights: (id: string) => string; renders: (id: string) => string };
}

const INPUT_AREAS = new Set(['images', 'audio', 'luts']);
const FILE_NAME = /^[\w][\w .-]{0,120}$/;
const OUTPUT_NAME = /^[\w-]+(\.[\w-]+)+$/;

/** Sends a file by Range with an ETag (size and change time), so a worker resumes a download only while the file is unchanged. */
async function sendWithEtag(reply: FastifyReply, range: string | undefined, file: string, contentType: string, missing: string): Promise<FastifyReply> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new LivefxError('file_not_found', missing);
  const etag = `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`;
  reply.header('ETag', etag);
  if (reply.request.headers['if-none-match'] === etag) return reply.code(304).send();
  // If-Range with another ETag: the file changed, so the whole of it (RFC 9110 section 13.1.5).
  const ifRange = reply.request.headers['if-range'];
  return sendRangedFile(reply, ifRange === undefined || ifRange === etag ? range : undefined, file, info.size, contentType);
}

function outputFolder(options: InternalMediaRoutesOptions, area: string, id: string, name?: string): string {
  if ((area !== 'highlights' && area !== 'renders') || !JOB_ID_PATTERN.test(id) || (name !== undefined && (!OUTPUT_NAME.test(name) || name.includes('.partial')))) {
    throw new LivefxError('file_not_found', `no output "${name ?? ''}" of ${area} job "${id}"`);
  }
  return options.outputDir[area](id);
}

/**
 * `/internal/media/…`: what `livefx worker` processes on other machines read and write on the node a
 * job came from (see the README, "Media between machines"). Every request carries a media token
 * (MediaToken: signed with LIVEFX_INTERNAL_SECRET, short-lived, for one path); API tokens open nothing here.
 */
export function registerInternalMediaRoutes(app: FastifyInstance, options: InternalMediaRoutesOptions): void {
  const base = '/internal/media';
  const token = (headers: Record<string, string | string[] | undefined>): string | string[] | undefined => headers[MEDIA_TOKEN_HEADER];

  app.get<{ Params: { id: string; kind: string } }>(`${base}/recordings/:id/:kind`, async (request, reply) => {
    const { id, kind } = request.params;
    options.token.verify(token(request.headers), 'media-read', `recordings/${id}/${kind}`);
    if (kind !== 'original' && kind !== 'transformed') throw new LivefxError('file_not_found', `no "${kind}" media: original or transformed`);
    if (!(await options.recorder.catalog.get(id))) throw new LivefxError('recording_not_found', `no recording with id "${id}"`);
    const media = await options.recorder.media(id, kind);
    return sendWithEtag(reply, request.headers.range, media.file, media.contentType, `recording ${id} has no ${kind} media on this node`);
  });

  app.get<{ Params: { area: string; name: string } }>(`${base}/files/:area/:name`, async (request, reply) => {
    const { area, name } = request.params;
    options.token.verify(token(request.headers), 'media-read', `files/${area}/${name}`);
    if (!INPUT_AREAS.has(area) || !FILE_NAME.test(name) || name.includes('..')) throw new LivefxError('file_not_found', `no file "${name}" in ${area}`);
    return sendWithEtag(reply, request.headers.range, path.join(options.dataDir, area, name), 'application/octet-stream', `no file "${name}" in ${area} on this node`);
  });

  app.get<{ Params: { area: string; id: string; name: string } }>(`${base}/outputs/:area/:id/:name`, async (request, reply) => {
    const { area, id, name } = request.params;
    options.token.verify(token(request.headers), 'media-read', `outputs/${area}/${id}`);
    const dir = outputFolder(options, area, id, name);
    return sendWithEtag(reply, request.headers.range, path.join(dir, name), 'application/octet-stream', `no output "${name}" of ${area} job ${id} on this node`);
  });

  // Uploads arrive as raw bytes of any size: their own parser hands the handler the stream.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.put<{ Params: { area: string; id: string; name: string } }>(`${base}/outputs/:area/:id/:name`, async (request) => {
      const { area, id, name } = request.params;
      options.token.verify(token(request.headers), 'media-write', `outputs/${area}/${id}`);
      const dir = outputFolder(options, area, id, name);
      const expected = Number(request.headers['content-length']);
      await mkdir(dir, { recursive: true });
      // Written beside the final name and renamed when whole: a reader never sees half a file.
      const partial = path.join(dir, `${name}.partial`);
      try {
        await pipeline(request.body as Readable, createWriteStream(partial));
        const bytes = (await stat(partial)).size;
        if (Number.isFinite(expected) && bytes !== expected) throw new LivefxError('invalid_request', `upload of ${name} ended after ${bytes} of ${expected} bytes`);
        await rename(partial, path.join(dir, name));
        return { area, id, name, bytes };
      } finally {
        await rm(partial, { force: true });
      }
    });
  });
}
