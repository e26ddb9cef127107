import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { MediaKind, RecordingRow } from '../../recorder/recording-catalog.js';
import { RecordingBusyError, type Recorder } from '../../recorder/recorder.js';
import { HttpError, errorBody } from './http-error.js';

/** GET /v1/recordings/:id (and each entry of the list). */
export interface RecordingView {
  id: string;
  streamId: string | null;
  title: string;
  state: RecordingRow['state'];
  startedAt: string;
  endedAt: string | null;
  durationS: number;
  media: { original: string | null; transformed: string | null };
  counts: { chat: number; reactions: number; transcriptWords: number };
}

const isoDate = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'expected an ISO date, e.g. 2026-12-01T08:00:00Z')
  .transform((value) => new Date(value).toISOString());

const listQuery = z.object({ streamId: z.string().min(1).optional(), from: isoDate.optional(), to: isoDate.optional() }).strict();

const seconds = z.coerce.number().min(0, 'must be 0 or more seconds');
const eventsQuery = z
  .object({
    type: z
      .string()
      .transform((value) => value.split(',').map((type) => type.trim()).filter(Boolean))
      .optional(),
    from: seconds.optional(),
    to: seconds.optional(),
  })
  .strict();

function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const result = schema.safeParse(query ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new HttpError(400, 'invalid_query', `${issue.path.join('.') || 'query'}: ${issue.message}`);
}

export function registerRecordingRoutes(app: FastifyInstance, recorder: Recorder): void {
  const catalog = recorder.catalog;

  const findRecording = (id: string): RecordingRow => {
    const recording = catalog.get(id);
    if (!recording) throw new HttpError(404, 'recording_not_found', `no recording with id "${id}"`);
    return recording;
  };

  const view = (recording: RecordingRow): RecordingView => {
    const counts = catalog.eventCounts(recording.id);
    const live = recording.state === 'recording';
    const media = (kind: MediaKind): string | null => (live || catalog.segments(recording.id, kind).length > 0 ? `/v1/recordings/${recording.id}/media/${kind}` : null);
    return {
      id: recording.id,
      streamId: recording.streamId,
      title: recording.title,
      state: recording.state,
      startedAt: recording.startedAt,
      endedAt: recording.endedAt,
      durationS: live ? Math.round(Date.now() - Date.parse(recording.startedAt)) / 1000 : recording.durationS,
      media: { original: media('original'), transformed: media('transformed') },
      counts: { chat: counts.get('chat') ?? 0, reactions: counts.get('reaction') ?? 0, transcriptWords: counts.get('transcript-word') ?? 0 },
    };
  };

  app.get('/v1/recordings', async (request) => {
    const query = parseQuery(listQuery, request.query);
    return { recordings: catalog.list(query).map(view) };
  });

  app.get<{ Params: { id: string } }>('/v1/recordings/:id', async (request) => view(findRecording(request.params.id)));

  app.get<{ Params: { id: string } }>('/v1/recordings/:id/events', async (request, reply) => {
    const recording = findRecording(request.params.id);
    const query = parseQuery(eventsQuery, request.query);
    if (query.from !== undefined && query.to !== undefined && query.from > query.to) throw new HttpError(400, 'invalid_query', 'from: must not be after to');
    const lines: string[] = [];
    for (const event of catalog.events(recording.id, { ...(query.type ? { types: query.type } : {}), ...(query.from !== undefined ? { fromS: query.from } : {}), ...(query.to !== undefined ? { toS: query.to } : {}) })) {
      lines.push(JSON.stringify({ t: event.t, type: event.type, ...event.payload }));
    }
    return reply.header('Content-Type', 'application/x-ndjson; charset=utf-8').send(lines.length ? `${lines.join('\n')}\n` : '');
  });

  app.get<{ Params: { id: string; kind: string } }>('/v1/recordings/:id/media/:kind', async (request, reply) => {
    const kind = request.params.kind;
    if (kind !== 'original' && kind !== 'transformed') throw new HttpError(404, 'media_not_found', `no media "${kind}": there are "original" and "transformed"`);
    const recording = findRecording(request.params.id);
    // A single file needs the whole session: while it is live there is none yet.
    if (recording.state === 'recording' || recorder.isRecording(recording.id)) {
      throw new HttpError(409, 'recording_in_progress', `recording ${recording.id} is still in progress; its media can be fetched once the stream has ended`);
    }
    if (catalog.segments(recording.id, kind).length === 0) throw new HttpError(404, 'media_not_found', `recording ${recording.id} has no ${kind} media`);
    const media = await recorder.exporter.media(recording.id, kind);
    return sendFile(reply, request.headers.range, media.file, media.bytes, media.contentType);
  });

  app.delete<{ Params: { id: string } }>('/v1/recordings/:id', async (request, reply) => {
    const recording = findRecording(request.params.id);
    try {
      await recorder.delete(recording.id);
    } catch (error) {
      if (error instanceof RecordingBusyError) throw new HttpError(409, 'recording_in_progress', `${error.message}; end the stream first`);
      throw error;
    }
    return reply.code(200).send({ id: recording.id, deleted: true });
  });
}

/** Serves a file whole (200) or one byte range of it (206); a range past the end is 416 with `Content-Range: bytes *\/size`. */
function sendFile(reply: FastifyReply, range: string | undefined, file: string, size: number, contentType: string): FastifyReply {
  reply.header('Accept-Ranges', 'bytes').header('Content-Type', contentType).header('Cache-Control', 'max-age=3600');
  if (!range) return reply.header('Content-Length', size).send(createReadStream(file));
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  // Several ranges, or another unit: the whole file is a valid answer (RFC 9110 section 14.2).
  if (!match || (match[1] === '' && match[2] === '')) return reply.header('Content-Length', size).send(createReadStream(file));
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) start = size;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) {
    return reply
      .code(416)
      .header('Content-Range', `bytes */${size}`)
      .header('Content-Type', 'application/json; charset=utf-8')
      .send(errorBody('range_not_satisfiable', `the range "${range}" lies outside the file's ${size} bytes`));
  }
  return reply
    .code(206)
    .header('Content-Range', `bytes ${start}-${end}/${size}`)
    .header('Content-Length', end - start + 1)
    .send(createReadStream(file, { start, end }));
}
