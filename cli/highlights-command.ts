import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { highlightRequestSchema, type HighlightRequest } from '../highlights/highlight-params.js';
import { SqliteJobQueue } from '../core/jobs/sqlite-job-queue.js';
import { HighlightService } from '../highlights/highlight-service.js';
import { JobCancelledError } from '../core/process/process-runner.js';
import { Recorder } from '../recorder/recorder.js';
import { RecordingTranscriber } from '../highlights/analysis/recording-transcriber.js';
import { ImportError } from '../recorder/recording-importer.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import { LivefxDatabase } from '../core/database.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import type { CliContext, CliInvocation } from './cli-command.js';
import { commandFromHelp } from './help-options.js';
import { readConfig, refusedHint, requireLocalStore, serverAuthHeaders } from './cli-config.js';
import { CliError, InterruptedError, UsageError } from './cli-errors.js';
import { ProgressBar } from './progress-bar.js';

const HELP = `usage: livefx highlights <recording-id | video> [--events <events.json>] [-k 5] [--strategy engagement_topk|keywords]
                         [--keywords a,b] [--min-clip-s 10] [--max-clip-s 45] [--quality preview|final] [--seed 42] [--json]

Chooses the best moments of a recording (by chat from distinct people, reactions, viewer rises; or by
transcript keywords), cuts them as clips with thumbnails and WebVTT captions, joins them into a reel
with chapter markers, and writes provenance beside every file. A video file is imported first (as
\`livefx import\` does, with --events as its chat/events JSON).

  -e, --events <file>     events JSON of a video file (see \`livefx import --help\`)
  -k <n>                  how many clips at most (default 5)
  -s, --strategy <name>   engagement_topk (default) or keywords
      --keywords <a,b>    the words for --strategy keywords, comma separated
      --min-clip-s <s>    shortest clip (default 10)
      --max-clip-s <s>    longest clip (default 45)
  -q, --quality <q>       preview (default; stream copy, keyframe-snapped) or final (frame-exact x264, captions burned in, crossfaded reel)
      --seed <n>          breaks ties between equal scores (default 42)
      --json              print the result object instead of a summary
  -h, --help              this text

With LIVEFX_URL set, the job runs on that server (POST /v1/video/highlights) and needs a recording id;
otherwise it runs here on $LIVEFX_DATA_DIR and the outputs go to $LIVEFX_DATA_DIR/highlights/<job>/.
A remote job whose progress stays unchanged for $LIVEFX_HIGHLIGHT_POLL_STALL_S (600 s) is given up on (exit 1).
Progress goes to stderr. Exit codes: 0 done, 1 failed, 2 wrong command line, 130 interrupted.`;

export const highlightsCommand = commandFromHelp(HELP, runHighlights, {
  summary: 'make highlight clips, a reel and chapters of a recording or video',
  positionals: { min: 1, max: 1, names: ['recording-id | video'] },
});

function numberOption(values: CliInvocation['values'], name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(parsed)) throw new UsageError(`--${name} needs a number, not "${String(value)}"`, 'highlights');
  return parsed;
}

/** The request body from the command line, validated by the API's own schema (so the CLI and the API agree). */
function requestOf(values: CliInvocation['values'], recordingId: string): HighlightRequest {
  const body: Record<string, unknown> = { recording_id: recordingId };
  const k = numberOption(values, 'k');
  if (k !== undefined) body.k = k;
  const minClip = numberOption(values, 'min-clip-s');
  if (minClip !== undefined) body.min_clip_s = minClip;
  const maxClip = numberOption(values, 'max-clip-s');
  if (maxClip !== undefined) body.max_clip_s = maxClip;
  const seed = numberOption(values, 'seed');
  if (seed !== undefined) body.seed = seed;
  if (typeof values.strategy === 'string') body.strategy = values.strategy;
  if (typeof values.quality === 'string') body.quality = values.quality;
  if (typeof values.keywords === 'string') body.keywords = values.keywords.split(',').map((word) => word.trim()).filter(Boolean);
  const parsed = highlightRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? 'options').replace(/_/g, '-');
    throw new UsageError(`${field === 'k' ? '-k' : `--${field}`}: ${issue.message}`, 'highlights');
  }
  return parsed.data;
}

async function runHighlights(invocation: CliInvocation, context: CliContext): Promise<number> {
  const { values } = invocation;
  const config = readConfig(context.env);
  const target = invocation.positionals[0]!;
  const isFile = existsSync(target) && statSync(target).isFile();
  if (values.events !== undefined && !isFile) throw new UsageError('--events goes with a video file, not a recording id', 'highlights');
  requestOf(values, 'check');
  const progress = new ProgressBar({ stream: context.stderr, label: 'highlights', total: 1 });
  if (config.LIVEFX_URL) {
    if (isFile) throw new CliError(`with LIVEFX_URL set, import the video first (livefx import ${target}) and pass the recording id`);
    let result: PrintableResult;
    try {
      result = await runRemote(config.LIVEFX_URL, serverAuthHeaders(config), requestOf(values, target), progress, context, config.LIVEFX_HIGHLIGHT_POLL_STALL_S);
    } catch (error) {
      progress.abandon();
      throw error;
    }
    progress.finish(1, 'done');
    print(result, values.json === true, context, (file) => (file ? new URL(file, config.LIVEFX_URL).toString() : null));
    return 0;
  }
  requireLocalStore(config, 'highlights');
  const database = LivefxDatabase.open(config.LIVEFX_DATA_DIR, MIGRATIONS);
  const log = pino({ level: 'silent' });
  const recorder = new Recorder({ catalog: new SqliteRecordingCatalog({ db: database.db }), dataDir: config.LIVEFX_DATA_DIR, segmentS: config.LIVEFX_RECORD_SEGMENT_S, ffmpeg: config.LIVEFX_FFMPEG, ffprobe: config.LIVEFX_FFPROBE, log });
  const transcriber = RecordingTranscriber.forRecorder({ recorder, config, log });
    const service = new HighlightService({ recorder, dataDir: config.LIVEFX_DATA_DIR, ffmpeg: config.LIVEFX_FFMPEG, ffprobe: config.LIVEFX_FFPROBE, transcriber, jobQueue: new SqliteJobQueue({ db: database.db, concurrency: 1 }), stallS: config.LIVEFX_HIGHLIGHT_STALL_S, log });
  try {
    let recordingId = target;
    if (isFile) {
      progress.update(0, 'importing');
      const events = typeof values.events === 'string' ? await readEvents(values.events) : undefined;
      try {
        recordingId = (await recorder.importer.import({ media: target, ...(events !== undefined ? { events } : {}) })).id;
      } catch (error) {
        if (error instanceof ImportError) throw new CliError(error.message);
        throw error;
      }
    } else {
      const recording = await recorder.catalog.get(target);
      if (!recording) throw new CliError(`no recording with id "${target}" in ${config.LIVEFX_DATA_DIR} (and no such file)`);
      if (recording.state === 'recording') throw new CliError(`recording ${target} is still in progress; make highlights once the stream has ended`);
    }
    const request = requestOf(values, recordingId);
    let outcome;
    try {
      outcome = await service.runDetached(request, (fraction, stage) => progress.update(fraction, stage), context.signal);
    } catch (error) {
      progress.abandon();
      if (error instanceof JobCancelledError || context.signal.aborted) throw new InterruptedError();
      throw new CliError(error instanceof Error ? error.message : String(error));
    }
    progress.finish(1, 'done');
    print({ id: outcome.id, ...outcome.result }, values.json === true, context, (file) => (file ? path.join(outcome.dir, file) : null));
    return 0;
  } finally {
    await service.close();
    await recorder.close();
    database.close();
  }
}

async function readEvents(file: string): Promise<string> {
  if (!existsSync(file)) throw new CliError(`events file ${path.resolve(file)} not found`);
  return readFile(file, 'utf8');
}

interface PrintableResult {
  clips: { rank: number; start: number; end: number; score: number; reasons: string[]; file: string; captions: string | null; thumbnail: string; review?: string }[];
  reel: { file: string; duration: number } | null;
  chapters: { start: number; end: number; title: string }[];
  chaptersText?: string | null;
  notes?: string[];
  [key: string]: unknown;
}

function print(result: PrintableResult, json: boolean, context: CliContext, locate: (file: string | null | undefined) => string | null): void {
  const located = {
    ...result,
    clips: result.clips.map((clip) => ({ ...clip, file: locate(clip.file), captions: locate(clip.captions), thumbnail: locate(clip.thumbnail) })),
    reel: result.reel ? { ...result.reel, file: locate(result.reel.file) } : null,
    ...(result.chaptersText !== undefined ? { chaptersText: locate(result.chaptersText) } : {}),
  };
  if (json) {
    context.stdout.write(`${JSON.stringify(located, null, 2)}\n`);
    return;
  }
  const clock = (seconds: number): string => `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${(seconds % 60).toFixed(1).padStart(4, '0')}`;
  const lines = located.clips.map((clip) => `${clip.rank}. ${clock(clip.start)}–${clock(clip.end)}  score ${clip.score}  ${clip.reasons.join(', ')}\n   ${clip.file}`);
  if (lines.length === 0) lines.push('no clips: no moment stood out enough');
  if (located.reel) lines.push(`reel (${located.reel.duration.toFixed(1)} s): ${located.reel.file}`);
  if (located.chapters.length > 0) lines.push('chapters:', ...located.chapters.map((chapter) => `  ${clock(chapter.start)} ${chapter.title}`));
  for (const note of result.notes ?? []) lines.push(`note: ${note}`);
  context.stdout.write(`${lines.join('\n')}\n`);
}

/** Polls the server's job until it settles; gives up when its progress and stage stay unchanged for `stallS`. */
async function runRemote(baseUrl: string, auth: Record<string, string>, request: HighlightRequest, progress: ProgressBar, context: CliContext, stallS: number): Promise<PrintableResult> {
  const call = async (method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> => {
    let response: Response;
    try {
      response = await fetch(new URL(route, baseUrl), {
        method,
        headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: context.signal,
      });
    } catch (error) {
      if (context.signal.aborted) throw new InterruptedError();
      throw new CliError(`cannot reach the server at LIVEFX_URL=${baseUrl}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { status: response.status, body: await response.json().catch(() => null) };
  };
  const posted = await call('POST', '/v1/video/highlights', request);
  if (posted.status !== 202) throw new CliError(`the server refused the job (${posted.status}): ${posted.body?.error?.message ?? 'no message'}${refusedHint(posted.status)}`);
  const id = posted.body.id as string;
  let lastState = '';
  let lastChange = performance.now();
  try {
    for (;;) {
      const view = (await call('GET', `/v1/video/highlights/${id}`)).body;
      const state = `${view.status}|${view.progress}|${view.stage}`;
      if (state !== lastState) {
        lastState = state;
        lastChange = performance.now();
      } else if (performance.now() - lastChange >= stallS * 1000) {
        throw new CliError(
          `highlights job ${id} made no progress for ${stallS} s (still ${view.status} at ${Math.round(view.progress * 100)}% "${view.stage}"); giving up waiting. The job stays on the server: DELETE /v1/video/highlights/${id} cancels it (LIVEFX_HIGHLIGHT_POLL_STALL_S sets this limit)`,
        );
      }
      progress.update(view.progress, view.stage);
      if (view.status === 'done') return view.result as PrintableResult;
      if (view.status === 'failed') throw new CliError(`highlights job ${id} failed: ${view.error}`);
      if (view.status === 'cancelled') throw new CliError(`highlights job ${id} was cancelled`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    // Ctrl-C cancels the server's job too.
    if (error instanceof InterruptedError) await fetch(new URL(`/v1/video/highlights/${id}`, baseUrl), { method: 'DELETE', headers: auth }).catch(() => undefined);
    throw error;
  }
}

