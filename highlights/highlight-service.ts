import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LivefxError } from '../core/errors.js';
import { allEvents, type MediaKind, type RecordingEvent, type RecordingRow } from '../recorder/recording-catalog.js';
import type { Recorder } from '../recorder/recorder.js';
import type { Logger } from '../core/logger.js';
import { clipReasons } from './strategies/clip-reasons.js';
import { liveSignalAnalysis, type LiveSignalAnalysis } from './analysis/live-signal-analysis.js';
import { MediaAnalyzer, round3, type MediaAnalysis } from './analysis/media-analyzer.js';
import { buildSignals, type RecordingSignals } from './analysis/recording-signals.js';
import { DEFAULT_STALL_S, ProcessRunner } from '../core/process/process-runner.js';
import { highlightRequestSchema, type HighlightParams, type HighlightRequest } from './highlight-params.js';
import type { EnqueueOptions, Job, JobContext, JobQueue } from '../core/jobs/job-queue.js';
import { splitOrigin, withOrigin } from '../core/cluster-media/job-origin.js';
import type { RemoteMedia } from '../core/cluster-media/remote-media.js';
import { MalformedJobError } from '../core/jobs/malformed-job-error.js';
import { ClipTimeline } from './outputs/clip-timeline.js';
import { HighlightRenderer, type Chapter } from './outputs/highlight-renderer.js';
import { keyframeAtOrBefore } from './strategies/clip-shaper.js';
import { strategyNamed } from './strategies/strategy-registry.js';
import { ProvenanceKeyStore } from '../core/provenance/provenance-key-store.js';
import { ProvenanceSigner } from '../core/provenance/provenance-signer.js';
import type { RecordingTranscriber } from './analysis/recording-transcriber.js';

export type ReviewState = 'pending' | 'approved' | 'rejected';

/** One clip of a result as stored: file fields are names inside the job's folder (the API turns them into URLs). */
export interface HighlightClip {
  rank: number;
  start: number;
  end: number;
  /** The moment the clip is built around (its thumbnail's frame). */
  peak: number;
  score: number;
  reasons: string[];
  file: string;
  captions: string | null;
  thumbnail: string;
  review: ReviewState;
  /** Set when a reviewer changed start/end: the next reel render cuts this clip again. */
  trimmed?: boolean;
  /** Dead air cut out of the clip (seconds of the recording); the file joins the parts around each gap. */
  gaps?: [number, number][];
}

export interface HighlightResult {
  recordingId: string;
  clips: HighlightClip[];
  reel: { file: string; duration: number } | null;
  chapters: Chapter[];
  chaptersText: string | null;
  provenance: Record<string, unknown>;
  notes: string[];
  /** `source`: live-signals when the recording's stored signals replaced ffmpeg's detect passes. */
  analysis: { source: MediaAnalysis['source']; decode: 'full' | 'keyframes'; elapsedMs: number };
}

/** A job whose input can no longer be used (the recording went, the source job has no clips); the job fails with it. */
export class HighlightInputError extends LivefxError {
  override name = 'HighlightInputError';
  declare readonly code: 'recording_not_found' | 'invalid_media' | 'job_not_done' | 'no_approved_clips';
  constructor(code: HighlightInputError['code'], message: string) {
    super(code, message);
  }
}

/** Crossfade between clips of a final-quality reel. */
const REEL_CROSSFADE_S = 0.5;
/** A chapter shorter than this is merged into the one before. */
const MIN_CHAPTER_S = 5;

function livefxVersion(): string {
  try {
    const here = path.dirname(new URL(import.meta.url).pathname);
    for (const candidate of [path.resolve(here, '..', 'package.json'), path.resolve(here, '..', '..', 'package.json')]) {
      try {
        return (JSON.parse(readFileSync(candidate, 'utf8')) as { version: string }).version;
      } catch {
        continue;
      }
    }
  } catch {
    // fall through
  }
  return 'unknown';
}

export interface HighlightServiceOptions {
  recorder: Recorder;
  dataDir: string;
  ffmpeg: string;
  ffprobe: string;
  /** The queue its `highlights` and `reel` jobs run on (shared with other features). */
  jobQueue: JobQueue;
  /** Stall limit of the ffmpeg watchdog (LIVEFX_HIGHLIGHT_STALL_S). */
  stallS?: number;
  /** Signs each output's `<file>.provenance.json`; by default with the data directory's provenance key. */
  signer?: ProvenanceSigner;
  /** Transcribes recordings that have no transcript (imports) once, before their first analysis; none: they go without. */
  transcriber?: RecordingTranscriber;
  /** This node's LIVEFX_NODE_URL: jobs enqueued here name it, so a worker elsewhere reads their media from here. */
  origin?: string | undefined;
  /** Reads media of jobs enqueued on other nodes and publishes their outputs there (LIVEFX_INTERNAL_SECRET set). */
  remote?: RemoteMedia | undefined;
  log: Logger;
}

/**
 * Highlight reels of recordings: runs `highlights` jobs (export → analysis → strategy → cuts, thumbnails,
 * captions, reel, chapters, provenance) and `reel` jobs (the reel again from the approved clips) on a
 * job queue. Outputs live in `$LIVEFX_DATA_DIR/highlights/<job-id>/`.
 */
export class HighlightService {
  readonly queue: JobQueue;
  readonly outputDir: string;
  private readonly runner: ProcessRunner;
  private readonly analyzer: MediaAnalyzer;
  private readonly renderer: HighlightRenderer;
  private readonly signer: ProvenanceSigner;
  private ffmpegVersion: string | undefined;
  /** The reel render in progress per source job: renders of one job run one after another. */
  private readonly reelRenders = new Map<string, Promise<void>>();

  constructor(private readonly options: HighlightServiceOptions) {
    this.outputDir = path.join(options.dataDir, 'highlights');
    this.runner = new ProcessRunner({ ffmpeg: options.ffmpeg, ffprobe: options.ffprobe, stallS: options.stallS ?? DEFAULT_STALL_S, label: 'highlights' });
    this.analyzer = new MediaAnalyzer(this.runner);
    this.renderer = new HighlightRenderer(this.runner);
    this.signer = options.signer ?? new ProvenanceSigner({ keys: new ProvenanceKeyStore({ dir: ProvenanceKeyStore.dirIn(options.dataDir) }) });
    this.queue = options.jobQueue;
    this.queue.register('highlights', (job, context) => this.runHighlights(job, context));
    this.queue.register('reel', (job, context) => this.runReel(job, context));
    // A live recording's export carries chapters from its stored signals (imports are served as imported).
    options.recorder.exporter.chapterSource = (recordingId) => this.exportChapters(recordingId);
  }

  /** Chapters of a recording from its live signals' scene cuts and its transcript, as ffmetadata; null without video signals. */
  private async exportChapters(recordingId: string): Promise<string | null> {
    const recording = await this.options.recorder.catalog.get(recordingId);
    if (!recording) return null;
    const events = await allEvents(this.options.recorder.catalog, recordingId);
    const live = liveSignalAnalysis(events, recording.durationS);
    if (!live.video) return null;
    const analysis: MediaAnalysis = {
      version: 2,
      key: '',
      sha256: '',
      durationS: recording.durationS,
      hasAudio: live.audio !== null,
      decode: 'full',
      keyframes: [],
      sceneCuts: live.video.sceneCuts,
      silences: live.audio?.silences ?? [],
      stills: live.video.stills,
      elapsedMs: 0,
      source: 'live-signals',
    };
    const chapters = this.chapters(buildSignals(analysis, events));
    return chapters.length > 1 ? HighlightRenderer.chapterMetadata(chapters) : null;
  }

  /** Re-queues jobs a restart interrupted (they run again from scratch) and starts working. */
  async start(): Promise<void> {
    const { requeued } = await this.queue.start();
    if (requeued > 0) this.options.log.info({ requeued }, 'jobs interrupted by a restart run again from the start');
  }

  /** Queues a highlights job (with `id`, the same id again is the same job). */
  enqueue(request: HighlightRequest, options: EnqueueOptions = {}): Promise<Job> {
    return this.queue.enqueue('highlights', withOrigin(request, this.options.origin), options);
  }

  /** Queues the reel of a finished job again from its approved clips. */
  enqueueReel(sourceId: string): Promise<Job> {
    return this.queue.enqueue('reel', withOrigin({ job_id: sourceId }, this.options.origin));
  }

  /**
   * The recording's media for a job: from this data directory, or fetched from `holder`, the node that
   * holds it (its catalog row's nodeUrl, else the node the job came from).
   */
  private async recordingMedia(holder: string | undefined, recordingId: string, kind: MediaKind, signal: AbortSignal): Promise<{ file: string; contentType: string }> {
    const remote = this.options.remote;
    return remote?.isRemote(holder) ? remote.recording(holder, recordingId, kind, signal) : this.options.recorder.media(recordingId, kind, signal);
  }

  /** A job from another node: its outputs go to that node (which serves them), and leave this machine. */
  private async publish(origin: string | undefined, jobId: string, signal: AbortSignal): Promise<void> {
    const remote = this.options.remote;
    if (!remote?.isRemote(origin)) return;
    await remote.publish(origin, 'highlights', jobId, this.jobDir(jobId), signal);
    await rm(this.jobDir(jobId), { recursive: true, force: true });
  }

  jobDir(id: string): string {
    return path.join(this.outputDir, id);
  }

  /** Deletes a job's outputs once it no longer runs. */
  async deleteOutputs(id: string): Promise<void> {
    await this.queue.settled(id);
    await rm(this.jobDir(id), { recursive: true, force: true });
  }

  close(): Promise<void> {
    return this.queue.close();
  }

  /**
   * Runs one highlights job outside the queue (the CLI without a server): no row in the jobs table, so a
   * server sharing the data directory never sees or re-runs it. Outputs go to `highlights/<id>/` as usual.
   */
  async runDetached(request: HighlightRequest, onProgress: (fraction: number, stage: string) => void, signal: AbortSignal): Promise<{ id: string; dir: string; result: HighlightResult }> {
    const id = `cli-${randomUUID()}`;
    const now = new Date().toISOString();
    const job: Job = { id, kind: 'highlights', params: request, status: 'running', progress: 0, stage: 'starting', result: null, error: null, createdAt: now, updatedAt: now };
    const result = await this.runHighlights(job, { signal, progress: onProgress });
    return { id, dir: this.jobDir(id), result };
  }

  /** The live signals a recording stored while it was made (none for imports). */
  private liveSignals(recording: RecordingRow | undefined, events: readonly RecordingEvent[]): LiveSignalAnalysis {
    return liveSignalAnalysis(events, recording?.durationS ?? Number.POSITIVE_INFINITY);
  }

  private async mediaKind(recordingId: string): Promise<MediaKind> {
    // The transformed output is what viewers saw (and always H.264); imports only have the original.
    return (await this.options.recorder.catalog.segments(recordingId, 'transformed')).length > 0 ? 'transformed' : 'original';
  }

  private async runHighlights(job: Job, context: JobContext): Promise<HighlightResult> {
    const { params: ownParams, origin } = splitOrigin(job.params);
    const parsed = highlightRequestSchema.safeParse(ownParams);
    if (!parsed.success) throw MalformedJobError.fromZod(parsed.error);
    const { recording_id: recordingId, ...params } = parsed.data as HighlightRequest;
    const catalog = this.options.recorder.catalog;
    const recording = await catalog.get(recordingId);
    if (!recording) throw new HighlightInputError('recording_not_found', `recording ${recordingId} no longer exists`);
    const dir = this.jobDir(job.id);
    // A job re-run after a restart starts from an empty folder.
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });

    context.progress(0.02, 'exporting');
    const kind = await this.mediaKind(recordingId);
    const media = await this.recordingMedia(recording.nodeUrl ?? origin, recordingId, kind, context.signal);
    if (media.contentType !== 'video/mp4') throw new HighlightInputError('invalid_media', `recording ${recordingId} has only VP8 media, which stream-copy MP4 clips cannot hold`);
    let transcriptionFailed: string | undefined;
    if (this.options.transcriber && !(await this.options.transcriber.origin(recordingId))) {
      context.progress(0.05, 'transcribing');
      // A failed transcription costs the captions, not the highlights.
      await this.options.transcriber.ensure(recordingId, context.signal, async () => media.file).catch((error: unknown) => {
        if (context.signal.aborted) throw error;
        transcriptionFailed = error instanceof Error ? error.message : String(error);
        this.options.log.warn({ err: error, recordingId }, 'transcribing the recording failed');
      });
    }
    context.progress(0.1, 'analysing');
    const events = await allEvents(catalog, recordingId);
    const analysis = await this.analyzer.analyse(media.file, context.signal, this.liveSignals(recording, events));
    const signals = buildSignals(analysis, events);

    context.progress(0.4, 'selecting');
    const planned = strategyNamed(params.strategy).select(signals, params);
    const notes: string[] = [];
    if (params.quality === 'preview') notes.push('preview quality: stream-copy cuts start on the keyframe at or before the chosen start (times reported are the real ones)');
    if (params.captions === 'burn' && params.quality === 'preview') notes.push('captions "burn" needs quality "final" (a re-encode): this preview has WebVTT sidecars');
    if (transcriptionFailed) notes.push(`transcribing the recording failed (${transcriptionFailed})`);
    if (signals.sentences.length === 0 && params.captions !== 'none') notes.push('the recording has no transcript: no captions');
    if (planned.length < params.k) notes.push(`${planned.length} of ${params.k} clips: no further moment stood out enough`);

    const provenance = await this.provenance(recordingId, kind, analysis, params, signals, events);
    const comment = JSON.stringify(provenance);
    const clips: HighlightClip[] = [];
    for (const [index, plan] of planned.entries()) {
      context.progress(0.45 + (0.4 * index) / Math.max(1, planned.length), `cutting clip ${index + 1} of ${planned.length}`);
      const rank = index + 1;
      const file = `clip-${rank}.mp4`;
      const clip = await this.renderClip(dir, rank, media.file, new ClipTimeline({ start: plan.start, end: plan.end, gaps: plan.gaps }), plan.peak, params, signals, analysis.hasAudio, comment, provenance, context.signal);
      const { end, captions, thumbnail } = clip;
      clips.push({ rank, start: plan.start, end, peak: plan.peak, score: plan.score, reasons: plan.reasons, file, captions, thumbnail, review: 'pending', ...(plan.gaps.length > 0 ? { gaps: plan.gaps } : {}) });
    }

    context.progress(0.88, 'reel');
    const reel = clips.length > 0 ? await this.renderReel(dir, clips, signals, params.quality, analysis.hasAudio, comment, provenance, context.signal) : null;
    let chapters: Chapter[] = [];
    let chaptersText: string | null = null;
    if (params.chapters) {
      context.progress(0.96, 'chapters');
      chapters = this.chapters(signals);
      await this.writeJson(path.join(dir, 'chapters.json'), chapters, provenance);
      chaptersText = 'chapters.txt';
      await writeFile(path.join(dir, chaptersText), HighlightRenderer.chapterList(chapters));
      await this.writeProvenance(path.join(dir, chaptersText), provenance);
      await writeFile(path.join(dir, 'chapters.ffmetadata'), HighlightRenderer.chapterMetadata(chapters));
    }
    await this.publish(origin, job.id, context.signal);
    return { recordingId, clips, reel, chapters, chaptersText, provenance, notes, analysis: { source: analysis.source, decode: analysis.decode, elapsedMs: analysis.elapsedMs } };
  }

  /**
   * Renders the reel again from the approved clips of a finished job, cutting trimmed clips anew. Reel
   * renders of one job run one at a time (they write the same files); the clip set is read once at the
   * start, and a clip edited (PATCH) while the render ran keeps that edit: only clips still as they were
   * at the start take the render's cut.
   */
  private async runReel(job: Job, context: JobContext): Promise<{ sourceJob: string; reel: { file: string; duration: number }; clips: number[]; editedDuringRender: number[] }> {
    const { params, origin } = splitOrigin(job.params);
    const sourceId = (params as { job_id: string }).job_id;
    const before = this.reelRenders.get(sourceId) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.renderReelOf(sourceId, origin, context));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.reelRenders.set(sourceId, settled);
    try {
      return await run;
    } finally {
      if (this.reelRenders.get(sourceId) === settled) this.reelRenders.delete(sourceId);
    }
  }

  private async renderReelOf(sourceId: string, origin: string | undefined, context: JobContext): Promise<{ sourceJob: string; reel: { file: string; duration: number }; clips: number[]; editedDuringRender: number[] }> {
    const source = await this.queue.get(sourceId);
    if (!source || source.status !== 'done') throw new HighlightInputError('job_not_done', `job ${sourceId} has no finished result`);
    const result = source.result as HighlightResult;
    const approved = result.clips.filter((clip) => clip.review === 'approved');
    if (approved.length === 0) throw new HighlightInputError('no_approved_clips', `job ${sourceId} has no approved clips`);
    // How each clip looked when this render began: a stored clip that differs later was edited meanwhile.
    const begun = new Map(approved.map((clip) => [clip.rank, JSON.stringify({ start: clip.start, end: clip.end, trimmed: clip.trimmed ?? false })]));
    const request = highlightRequestSchema.parse(splitOrigin(source.params).params);
    const dir = this.jobDir(sourceId);
    const kind = await this.mediaKind(result.recordingId);
    const recording = await this.options.recorder.catalog.get(result.recordingId);
    const media = await this.recordingMedia(recording?.nodeUrl ?? origin, result.recordingId, kind, context.signal);
    const remote = this.options.remote;
    // On another machine, the clips the reel reuses come from the node that holds the job's outputs.
    if (remote?.isRemote(origin)) {
      for (const clip of approved) if (!clip.trimmed) await remote.output(origin, 'highlights', sourceId, clip.file, path.join(dir, clip.file), context.signal);
    }
    const events = await allEvents(this.options.recorder.catalog, result.recordingId);
    const analysis = await this.analyzer.analyse(media.file, context.signal, this.liveSignals(recording, events));
    const signals = buildSignals(analysis, events);
    const { recording_id: _unused, ...params } = request;
    const provenance = { ...(await this.provenance(result.recordingId, kind, analysis, params, signals, events)), reviewed: approved.map((clip) => ({ rank: clip.rank, start: clip.start, end: clip.end })) };
    const comment = JSON.stringify(provenance);
    for (const [index, clip] of approved.entries()) {
      if (!clip.trimmed) continue;
      context.progress((0.8 * index) / approved.length, `cutting clip ${clip.rank}`);
      // A trimmed start moves to the keyframe at or before it for a stream copy, as for the first cut (not into the clip before).
      const floor = Math.max(0, ...result.clips.filter((other) => other !== clip && other.end <= clip.start + 1e-6).map((other) => other.end));
      const start = params.quality === 'final' ? clip.start : keyframeAtOrBefore(analysis.keyframes, clip.start, floor);
      // Gaps the trim left inside the clip are still cut out.
      const gaps = (clip.gaps ?? []).filter(([gapStart, gapEnd]) => gapStart > start && gapEnd < clip.end);
      const rendered = await this.renderClip(dir, clip.rank, media.file, new ClipTimeline({ start, end: clip.end, gaps }), clip.peak, params, signals, analysis.hasAudio, comment, provenance, context.signal);
      clip.gaps = gaps;
      clip.start = start;
      clip.end = rendered.end;
      clip.captions = rendered.captions;
      clip.trimmed = false;
    }
    context.progress(0.85, 'reel');
    const reel = await this.renderReel(dir, approved, signals, params.quality, analysis.hasAudio, comment, provenance, context.signal);
    // Read again right before writing (no await in between): review decisions and trims saved meanwhile stay.
    const latest = (await this.queue.get(sourceId))!.result as HighlightResult;
    const editedDuringRender: number[] = [];
    for (const clip of approved) {
      const stored = latest.clips.find((candidate) => candidate.rank === clip.rank);
      if (!stored) continue;
      if (JSON.stringify({ start: stored.start, end: stored.end, trimmed: stored.trimmed ?? false }) !== begun.get(clip.rank)) {
        // A newer trim: it stays marked, so the next reel render cuts it.
        editedDuringRender.push(clip.rank);
        continue;
      }
      Object.assign(stored, { start: clip.start, end: clip.end, captions: clip.captions, gaps: clip.gaps, trimmed: false });
    }
    await this.publish(origin, sourceId, context.signal);
    latest.reel = reel;
    await this.queue.setResult(sourceId, latest);
    return { sourceJob: sourceId, reel, clips: approved.map((clip) => clip.rank), editedDuringRender };
  }

  /** One clip's files: the cut (stream copy or final re-encode), its captions and its thumbnail, each with provenance. */
  private async renderClip(
    dir: string,
    rank: number,
    media: string,
    planned: ClipTimeline,
    peak: number,
    params: HighlightParams,
    signals: RecordingSignals,
    hasAudio: boolean,
    comment: string,
    provenance: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<{ end: number; captions: string | null; thumbnail: string }> {
    const file = `clip-${rank}.mp4`;
    let captions: string | null = null;
    const start = planned.start;
    if (params.captions !== 'none' && (await this.renderer.captions(signals.sentences, planned, path.join(dir, `clip-${rank}.vtt`)))) captions = `clip-${rank}.vtt`;
    let realDuration: number;
    if (params.quality === 'final') {
      const burn = params.captions === 'burn' && captions ? path.join(dir, captions) : null;
      realDuration = await this.renderer.encodeParts(media, planned, hasAudio, path.join(dir, file), comment, burn, signal);
    } else {
      realDuration = await this.renderer.cutParts(media, planned, path.join(dir, file), comment, signal);
    }
    // A stream copy can end a frame off the plan: the real end follows the file.
    const end = round3(planned.end + realDuration - planned.durationS);
    if (captions) {
      await this.renderer.captions(signals.sentences, new ClipTimeline({ start, end, gaps: planned.gaps }), path.join(dir, captions));
      await this.writeProvenance(path.join(dir, captions), provenance);
    }
    await this.writeProvenance(path.join(dir, file), provenance);
    const thumbnail = `clip-${rank}.jpg`;
    await this.renderer.thumbnail(media, Math.min(Math.max(peak, start), end - 0.1), path.join(dir, thumbnail), signal);
    await this.writeProvenance(path.join(dir, thumbnail), provenance);
    return { end, captions, thumbnail };
  }

  private async renderReel(
    dir: string,
    clips: readonly HighlightClip[],
    signals: RecordingSignals,
    quality: HighlightParams['quality'],
    hasAudio: boolean,
    comment: string,
    provenance: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<{ file: string; duration: number }> {
    const file = 'reel.mp4';
    const parts = clips.map((clip) => ({ file: path.join(dir, clip.file), durationS: new ClipTimeline({ start: clip.start, end: clip.end, gaps: clip.gaps }).durationS, title: this.titleOf(signals, clip.start, clip.end, `Clip ${clip.rank}`) }));
    const duration =
      quality === 'final' ? await this.renderer.crossfadeReel(parts, REEL_CROSSFADE_S, hasAudio, path.join(dir, file), comment, signal) : await this.renderer.reel(parts, path.join(dir, file), comment, signal);
    await this.writeProvenance(path.join(dir, file), provenance);
    return { file, duration: round3(duration) };
  }

  /** Chapters of the recording, split at scene cuts; titles from the chapter's first sentence, else its top reason. */
  private chapters(signals: RecordingSignals): Chapter[] {
    const bounds = [0];
    for (const cut of signals.sceneCuts) if (cut - bounds[bounds.length - 1]! >= MIN_CHAPTER_S && signals.durationS - cut >= MIN_CHAPTER_S) bounds.push(cut);
    bounds.push(signals.durationS);
    const chapters: Chapter[] = [];
    for (let index = 0; index + 1 < bounds.length; index++) {
      const start = bounds[index]!;
      const end = bounds[index + 1]!;
      chapters.push({ start: round3(start), end: round3(end), title: this.titleOf(signals, start, end, `Chapter ${index + 1}`) });
    }
    return chapters;
  }

  private titleOf(signals: RecordingSignals, start: number, end: number, fallback: string): string {
    const sentence = signals.sentences.find((candidate) => candidate.start >= start - 0.25 && candidate.start < end);
    if (sentence) return sentence.text.length > 60 ? `${sentence.text.slice(0, 57).trimEnd()}…` : sentence.text;
    const reason = clipReasons(signals, start, end)[0];
    return reason ? `${fallback}: ${reason}` : fallback;
  }

  /** What every output carries about how it was made; highlights and reel jobs alike (a reel job may be the first after a restart). */
  private async provenance(recordingId: string, kind: MediaKind, analysis: MediaAnalysis, params: HighlightParams, signals: RecordingSignals, events: readonly { type: string; payload: Record<string, unknown> }[]): Promise<Record<string, unknown>> {
    this.ffmpegVersion ??= await this.runner.version();
    const transcriptWord = events.find((event) => event.type === 'transcript-word');
    const asr = transcriptWord ? (typeof transcriptWord.payload.engine === 'string' ? transcriptWord.payload.engine : 'transcript-word events of the recording') : null;
    return {
      aiEdited: true,
      disclosure: 'Clips were chosen and cut automatically by livefx highlights from audience engagement and the transcript.',
      source: { recordingId, media: kind, sha256: analysis.sha256 },
      strategy: params.strategy,
      parameters: params,
      seed: params.seed,
      versions: { livefx: livefxVersion(), ffmpeg: this.ffmpegVersion ?? 'unknown', ...(asr ? { asr } : {}) },
      signals: { analysis: analysis.source, sentences: signals.sentences.length, sceneCuts: signals.sceneCuts.length, deadAir: signals.deadAir.length },
      createdAt: new Date().toISOString(),
    };
  }

  /** `<file>.provenance.json`: the provenance plus the file's name, SHA-256 and size, signed (see core/provenance). */
  private async writeProvenance(file: string, provenance: Record<string, unknown>): Promise<void> {
    await this.signer.writeBeside(file, provenance);
  }

  private async writeJson(file: string, value: unknown, provenance: Record<string, unknown>): Promise<void> {
    await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
    await this.writeProvenance(file, provenance);
  }
}

