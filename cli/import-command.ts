import { createReadStream, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ImportError, MAX_EVENTS_BYTES, RecordingImporter } from '../recorder/recording-importer.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import type { LivefxConfig } from '../core/config.js';
import { recordingView, type RecordingView } from '../server/http/recording-routes.js';
import { LivefxDatabase } from '../core/database.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import type { CliContext, CliInvocation } from './cli-command.js';
import { commandFromHelp } from './help-options.js';
import { readConfig, refusedHint, requireLocalStore, serverAuthHeaders } from './cli-config.js';
import { CliError, InterruptedError, UsageError } from './cli-errors.js';

const HELP = `usage: livefx import <video> [--events <events.json>] [--title <title>] [--json]

Imports an outside recording (a VOD from another tool: MP4, MKV, WebM, MOV, TS, … anything ffmpeg
reads with a video stream) as a recording in state "imported", so the highlight stage works on it.
The media is copied without re-encoding; original and transformed are the same file.

  <video>                 the media file
  -e, --events <file>     its events: { "events": [ { "t": 12.5, "type": "chat", "user": "u1", "text": "…" },
                          { "t": 13, "type": "reaction", "user": "u2", "kind": "like" },
                          { "t": 15, "type": "viewers", "count": 42 },
                          { "t": 16, "type": "transcript-word", "word": "hi", "end": 16.3, "conf": 0.9 } ] }
                          with t in seconds from the start of the media
  -t, --title <title>     the recording's title (default: the file name)
      --json              print the whole recording (as GET /v1/recordings/:id gives it), not only its id
  -h, --help              this text

With LIVEFX_URL set the file is uploaded to that server (POST /v1/recordings); otherwise the recording
goes straight into $LIVEFX_DATA_DIR (default ./data). LIVEFX_IMPORT_MAX_MB limits the file size.
Exit codes: 0 done (the new id on stdout), 1 failed (the message says why), 2 wrong command line, 130 interrupted.`;

/** Uploads larger than this show progress on stderr. */
const PROGRESS_MIN_BYTES = 4 * 2 ** 20;

export const importCommand = commandFromHelp(HELP, runImport, {
  summary: 'import an outside video (and its chat/events JSON) as a recording',
  positionals: { min: 1, max: 1, names: ['video'] },
});

async function runImport(invocation: CliInvocation, context: CliContext): Promise<number> {
  const { values } = invocation;
  if (values.events !== undefined && typeof values.events !== 'string') throw new UsageError('--events needs a file', 'import');
  const config = readConfig(context.env);
  const video = path.resolve(invocation.positionals[0]!);
  if (!existsSync(video)) throw new CliError(`video ${video} not found`);
  const size = statSync(video);
  if (!size.isFile()) throw new CliError(`video ${video} is not a file`);
  const maxBytes = config.LIVEFX_IMPORT_MAX_MB * 2 ** 20;
  if (size.size > maxBytes) throw new CliError(`${path.basename(video)} is ${Math.ceil(size.size / 2 ** 20)} MB, larger than the ${config.LIVEFX_IMPORT_MAX_MB} MB allowed (LIVEFX_IMPORT_MAX_MB)`);
  let events: string | undefined;
  if (typeof values.events === 'string') {
    const eventsFile = path.resolve(values.events);
    if (!existsSync(eventsFile)) throw new CliError(`events file ${eventsFile} not found`);
    if (statSync(eventsFile).size > MAX_EVENTS_BYTES) throw new CliError(`events file ${eventsFile} is larger than ${MAX_EVENTS_BYTES / 2 ** 20} MiB`);
    events = await readFile(eventsFile, 'utf8');
  }
  const title = typeof values.title === 'string' ? values.title : undefined;
  const view = config.LIVEFX_URL ? await upload(config.LIVEFX_URL, serverAuthHeaders(config), video, size.size, events, title, context) : await importLocally(config, video, events, title);
  context.stdout.write(values.json === true ? `${JSON.stringify(view, null, 2)}\n` : `${view.id}\n`);
  return 0;
}

async function importLocally(config: LivefxConfig, video: string, events: string | undefined, title: string | undefined): Promise<RecordingView> {
  requireLocalStore(config, 'import');
  const database = LivefxDatabase.open(config.LIVEFX_DATA_DIR, MIGRATIONS);
  try {
    const catalog = new SqliteRecordingCatalog({ db: database.db });
    const importer = new RecordingImporter({ catalog, recordingsDir: path.join(config.LIVEFX_DATA_DIR, 'recordings'), ffmpeg: config.LIVEFX_FFMPEG, ffprobe: config.LIVEFX_FFPROBE, maxBytes: config.LIVEFX_IMPORT_MAX_MB * 2 ** 20 });
    try {
      const recording = await importer.import({ media: video, ...(events !== undefined ? { events } : {}), ...(title !== undefined ? { title } : {}) });
      return await recordingView(catalog, recording);
    } catch (error) {
      if (error instanceof ImportError) throw new CliError(error.message);
      throw error;
    }
  } finally {
    database.close();
  }
}

/** POST /v1/recordings with a multipart body streamed from the file (never read whole into memory). */
async function upload(baseUrl: string, auth: Record<string, string>, video: string, bytes: number, events: string | undefined, title: string | undefined, context: CliContext): Promise<RecordingView> {
  const boundary = `livefx-${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const head = (headers: string): Buffer => Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`);
  const fields: Buffer[] = [];
  if (title !== undefined) fields.push(head('Content-Disposition: form-data; name="title"'), Buffer.from(title), Buffer.from('\r\n'));
  if (events !== undefined) fields.push(head('Content-Disposition: form-data; name="events"; filename="events.json"\r\nContent-Type: application/json'), Buffer.from(events), Buffer.from('\r\n'));
  const fileName = path.basename(video).replace(/["\r\n\\]/g, '_');
  const mediaHead = head(`Content-Disposition: form-data; name="media"; filename="${fileName}"\r\nContent-Type: application/octet-stream`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const showProgress = bytes >= PROGRESS_MIN_BYTES;
  let sent = 0;
  let shownTenth = -1;
  async function* body(): AsyncGenerator<Buffer> {
    yield* fields;
    yield mediaHead;
    for await (const chunk of createReadStream(video, { highWaterMark: 1 << 20 })) {
      sent += (chunk as Buffer).length;
      const tenth = Math.floor((sent / bytes) * 10);
      if (showProgress && tenth > shownTenth) {
        shownTenth = tenth;
        context.stderr.write(`uploading ${path.basename(video)}: ${(sent / 2 ** 20).toFixed(1)} / ${(bytes / 2 ** 20).toFixed(1)} MB (${tenth * 10}%)\n`);
      }
      yield chunk as Buffer;
    }
    if (showProgress) context.stderr.write('upload done; the server is importing…\n');
    yield tail;
  }
  const url = new URL('/v1/recordings', baseUrl);
  const { status, text } = await post(url, auth, `multipart/form-data; boundary=${boundary}`, Readable.from(body()), context.signal).catch((error: unknown) => {
    if (context.signal.aborted) throw new InterruptedError();
    throw new CliError(`cannot upload to the server at LIVEFX_URL=${baseUrl}: ${error instanceof Error ? error.message : String(error)}`);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (status !== 201) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new CliError(`the server refused the import (${status}${error?.code ? ` ${error.code}` : ''}): ${error?.message ?? text.slice(0, 500)}${refusedHint(status)}`);
  }
  return parsed as RecordingView;
}

/**
 * One POST with a streamed body. node:http rather than fetch: piping waits for the socket to drain,
 * so the CLI holds one chunk of the file at a time (fetch buffered whole GBs here).
 */
function post(url: URL, auth: Record<string, string>, contentType: string, body: Readable, signal: AbortSignal): Promise<{ status: number; text: string }> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, { method: 'POST', headers: { ...auth, 'Content-Type': contentType, 'Transfer-Encoding': 'chunked' }, signal }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    // The server may answer (413, 422) before the whole body is sent: that answer is what counts.
    body.on('error', reject);
    body.pipe(request);
  });
}

