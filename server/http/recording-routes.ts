import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { MediaKind, RecordingCatalogStore, RecordingRow } from '../../recorder/recording-catalog.js';
import { IMPORT_TEMP_PREFIX, MAX_EVENTS_BYTES, type ImportInput } from '../../recorder/recording-importer.js';
import type { Recorder } from '../../recorder/recorder.js';
import { transcriptFromWords } from '../../transforms/subtitles/recorded-transcript.js';
import { formatTranscript } from '../../transforms/subtitles/transcript-formats.js';
import { LivefxError } from '../../core/errors.js';
import { asMultipartError, assertPartReadable } from './multipart-errors.js';
import { sendRangedFile } from './ranged-file.js';

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

const transcriptQuery = z.object({ format: z.enum(['json', 'vtt', 'srt', 'txt']).default('json') }).strict();

function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const result = schema.safeParse(query ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new LivefxError('invalid_query', `${issue.path.join('.') || 'query'}: ${issue.message}`);
}

/** The API's view of one recording (GET /v1/recordings/:id), also what `livefx import --json` prints. */
export async function recordingView(catalog: RecordingCatalogStore, recording: RecordingRow): Promise<RecordingView> {
  const counts = await catalog.eventCounts(recording.id);
  const live = recording.state === 'recording';
  const has = async (kind: MediaKind): Promise<boolean> => live || (await catalog.segments(recording.id, kind)).length > 0;
  const [original, transformed] = await Promise.all([has('original'), has('transformed')]);
  const media = (kind: MediaKind, present: boolean): string | null => (present ? `/v1/recordings/${recording.id}/media/${kind}` : null);
  return {
    id: recording.id,
    streamId: recording.streamId,
    title: recording.title,
    state: recording.state,
    startedAt: recording.startedAt,
    endedAt: recording.endedAt,
    durationS: live ? Math.round(Date.now() - Date.parse(recording.startedAt)) / 1000 : recording.durationS,
    media: { original: media('original', original), transformed: media('transformed', transformed) },
    counts: { chat: counts.get('chat') ?? 0, reactions: counts.get('reaction') ?? 0, transcriptWords: counts.get('transcript-word') ?? 0 },
  };
}

export interface RecordingRoutesOptions {
  /** Largest media upload of POST /v1/recordings (LIVEFX_IMPORT_MAX_MB). */
  importMaxBytes: number;
}

const MULTIPART_LIMIT_CODES = new Set(['FST_PARTS_LIMIT', 'FST_FILES_LIMIT', 'FST_FIELDS_LIMIT']);

export function registerRecordingRoutes(app: FastifyInstance, recorder: Recorder, options: RecordingRoutesOptions = { importMaxBytes: 8192 * 2 ** 20 }): void {
  const catalog = recorder.catalog;
  const tooLarge = (): LivefxError => new LivefxError('file_too_large', `the media file is larger than the ${Math.round(options.importMaxBytes / 2 ** 20)} MB allowed (LIVEFX_IMPORT_MAX_MB)`);

  const findRecording = async (id: string): Promise<RecordingRow> => {
    const recording = await catalog.get(id);
    if (!recording) throw new LivefxError('recording_not_found', `no recording with id "${id}"`);
    return recording;
  };

  const view = (recording: RecordingRow): Promise<RecordingView> => recordingView(catalog, recording);

  /** Streams the multipart form to a temporary folder (the media never sits in memory) and reads the small fields. */
  const receiveImport = async (request: FastifyRequest, folder: string): Promise<ImportInput> => {
    try {
      return await readImportForm(request, folder);
    } catch (error) {
      // Busboy's limits, in this form's words.
      const code = (error as { code?: string }).code;
      if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge();
      if (code && MULTIPART_LIMIT_CODES.has(code)) throw new LivefxError('invalid_request', 'too many parts: the form takes one "media" file, "events" and "title"');
      throw asMultipartError(error);
    }
  };
  const readImportForm = async (request: FastifyRequest, folder: string): Promise<ImportInput> => {
    let media: string | undefined;
    let mediaName: string | undefined;
    let events: string | undefined;
    let title: string | undefined;
    const parts = request.parts({ limits: { fileSize: options.importMaxBytes, files: 2, fields: 4, parts: 6, fieldSize: MAX_EVENTS_BYTES } });
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname === 'media' && media === undefined) {
          assertPartReadable(part.file, 'media');
          const file = path.join(folder, `media${path.extname(part.filename).replace(/[^.a-zA-Z0-9]/g, '').slice(0, 8)}`);
          await pipeline(part.file, createWriteStream(file));
          if (part.file.truncated) throw tooLarge();
          media = file;
          mediaName = path.basename(part.filename);
        } else if (part.fieldname === 'events' && events === undefined) {
          assertPartReadable(part.file, 'events');
          const data = await part.toBuffer();
          if (part.file.truncated || data.length > MAX_EVENTS_BYTES) throw new LivefxError('file_too_large', `the events file is larger than ${MAX_EVENTS_BYTES / 2 ** 20} MiB`);
          events = data.toString('utf8');
        } else {
          part.file.resume();
          throw new LivefxError('invalid_request', `unexpected file field "${part.fieldname}": the form takes one "media" file, "events" (file or text) and "title"`);
        }
      } else if (part.fieldname === 'events' || part.fieldname === 'title') {
        if (part.valueTruncated) throw new LivefxError('file_too_large', `the "${part.fieldname}" field is larger than ${MAX_EVENTS_BYTES / 2 ** 20} MiB`);
        if (part.fieldname === 'events') events = String(part.value);
        else title = String(part.value);
      } else {
        throw new LivefxError('invalid_request', `unexpected field "${part.fieldname}": the form takes "media", "events" and "title"`);
      }
    }
    if (media === undefined) throw new LivefxError('missing_media', 'the form has no media file: put the video in the field "media"');
    return { media, name: mediaName || 'upload', ...(events !== undefined ? { events } : {}), ...(title?.trim() ? { title } : {}) };
  };

  app.post('/v1/recordings', async (request, reply) => {
    if (!request.isMultipart()) throw new LivefxError('invalid_request', 'send multipart/form-data with the video in the field "media" (optional: "events" JSON, "title")');
    // Under the import prefix, so a crash mid-upload leaves a folder that start-up removes.
    const folder = path.join(recorder.recordingsDir, `${IMPORT_TEMP_PREFIX}upload-${randomBytes(6).toString('hex')}`);
    await mkdir(folder, { recursive: true });
    try {
      const input = await receiveImport(request, folder);
      const recording = await recorder.importer.import(input);
      request.log.info({ recordingId: recording.id, title: recording.title, by: `http ${request.ip}` }, 'recording imported over HTTP');
      return reply.code(201).send(await view(recording));
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  app.get('/v1/recordings', async (request) => {
    const query = parseQuery(listQuery, request.query);
    return { recordings: await Promise.all((await catalog.list(query)).map(view)) };
  });

  app.get<{ Params: { id: string } }>('/v1/recordings/:id', async (request) => view(await findRecording(request.params.id)));

  app.get<{ Params: { id: string } }>('/v1/recordings/:id/events', async (request, reply) => {
    const recording = await findRecording(request.params.id);
    const query = parseQuery(eventsQuery, request.query);
    if (query.from !== undefined && query.to !== undefined && query.from > query.to) throw new LivefxError('invalid_query', 'from: must not be after to');
    const lines: string[] = [];
    // Messages an operator removed stay in the log, marked, next to the `moderation` event that removed them.
    const removed = !query.type || query.type.includes('chat') ? await catalog.removedChatIds(recording.id) : new Set<string>();
    for await (const event of catalog.events(recording.id, { ...(query.type ? { types: query.type } : {}), ...(query.from !== undefined ? { fromS: query.from } : {}), ...(query.to !== undefined ? { toS: query.to } : {}) })) {
      const marked = event.type === 'chat' && typeof event.payload.id === 'string' && removed.has(event.payload.id) ? { removed: true } : {};
      lines.push(JSON.stringify({ t: event.t, type: event.type, ...event.payload, ...marked }));
    }
    return reply.header('Content-Type', 'application/x-ndjson; charset=utf-8').send(lines.length ? `${lines.join('\n')}\n` : '');
  });

  // The live transcript: every final word of the captions (events `transcript-word`), as JSON or a subtitle file.
  app.get<{ Params: { id: string } }>('/v1/recordings/:id/transcript', async (request, reply) => {
    const recording = await findRecording(request.params.id);
    const { format } = parseQuery(transcriptQuery, request.query);
    const words: { word: string; t: number; end: number; conf?: number }[] = [];
    for await (const event of catalog.events(recording.id, { types: ['transcript-word'] })) {
      const { word, end, conf } = event.payload as { word?: unknown; end?: unknown; conf?: unknown };
      if (typeof word !== 'string') continue;
      words.push({ word, t: event.t, end: typeof end === 'number' ? end : event.t, ...(typeof conf === 'number' ? { conf } : {}) });
    }
    if (format === 'json') return { words, text: words.map((word) => word.word).join(' ') };
    const transcript = transcriptFromWords(
      words.map((word) => ({ word: word.word, startMs: word.t * 1000, endMs: word.end * 1000, ...(word.conf !== undefined ? { conf: word.conf } : {}) })),
      recording.id,
      recording.durationS * 1000,
    );
    const types = { vtt: 'text/vtt', srt: 'application/x-subrip', txt: 'text/plain' } as const;
    return reply.header('Content-Type', `${types[format]}; charset=utf-8`).send(formatTranscript(transcript, format));
  });

  app.get<{ Params: { id: string; kind: string } }>('/v1/recordings/:id/media/:kind', async (request, reply) => {
    const kind = request.params.kind;
    if (kind !== 'original' && kind !== 'transformed') throw new LivefxError('media_not_found', `no media "${kind}": there are "original" and "transformed"`);
    const recording = await findRecording(request.params.id);
    // A single file needs the whole session: while it is live there is none yet.
    if (recording.state === 'recording' || recorder.isRecording(recording.id)) {
      throw new LivefxError('recording_in_progress', `recording ${recording.id} is still in progress; its media can be fetched once the stream has ended`);
    }
    if ((await catalog.segments(recording.id, kind)).length === 0) throw new LivefxError('media_not_found', `recording ${recording.id} has no ${kind} media`);
    const media = await recorder.media(recording.id, kind);
    // Exports never change once made: browsers may keep them.
    return sendRangedFile(reply, request.headers.range, media.file, media.bytes, media.contentType, 'max-age=3600');
  });

  app.delete<{ Params: { id: string } }>('/v1/recordings/:id', async (request, reply) => {
    const recording = await findRecording(request.params.id);
    await recorder.delete(recording.id);
    return reply.code(200).send({ id: recording.id, deleted: true });
  });
}
