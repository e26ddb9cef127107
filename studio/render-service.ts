import { copyFile, mkdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { LivefxError } from '../core/errors.js';
import { MalformedJobError } from '../core/jobs/malformed-job-error.js';
import type { EnqueueOptions, Job, JobContext, JobQueue } from '../core/jobs/job-queue.js';
import { splitOrigin, withOrigin } from '../core/cluster-media/job-origin.js';
import { RemoteMediaRefusal, type RemoteMedia } from '../core/cluster-media/remote-media.js';
import type { Logger } from '../core/logger.js';
import { JobCancelledError, ProcessRunner } from '../core/process/process-runner.js';
import type { ProvenanceSigner } from '../core/provenance/provenance-signer.js';
import { isMusicBed } from './audio-beds.js';
import { Compositor, SHOT_CONCURRENCY } from './compositor.js';
import { FACE_SAMPLER_WORKER } from './face-sampler.js';
import { LOOKS_WORKER } from './looks-render.js';
import { MemoCache } from './memo-cache.js';
import { WorkerPool } from './worker-pool.js';
import { lookFileNames, type LookFolders } from './look-files.js';
import { LookNotFoundError, resolveLook, AI_EDITED_LABEL, type ResolvedLook } from './looks.js';
import type { StoryboardStore, StudioCaller, TemplateLibrary } from './ports.js';
import { RenderFailure } from './render-error.js';
import { sha256OfFile, unsignedFields, type RenderManifest } from './render-manifest.js';
import { ENGINE_VERSION, ShotCache } from './shot-cache.js';
import { storyboardBodySchema, type RenderRequest, type RenderResult, type StoryboardBody } from './storyboard.js';
import { buildTimeline, type Quality, type ResolvedShotSource, type TimedWord } from './timeline.js';
import type { TransformBackendSetting } from '../transforms/transform-backend.js';

/** The recordings the studio reads: the recorder fits this shape. */
export interface StudioRecordings {
  catalog: {
    get(id: string): Promise<{ id: string; streamId: string | null; title: string; state: string; durationS: number } | undefined>;
    events(id: string, filter?: { types?: readonly string[]; fromS?: number; toS?: number }): AsyncIterable<{ t: number; type: string; payload: Record<string, unknown> }>;
  };
  media(id: string, kind: 'original', signal?: AbortSignal): Promise<{ file: string }>;
  isRecording(id: string): boolean;
}

export interface RenderServiceOptions {
  jobQueue: JobQueue;
  dataDir: string;
  ffmpeg: string;
  ffprobe: string;
  recordings: StudioRecordings;
  storyboards: StoryboardStore;
  templates?: TemplateLibrary;
  /** A stored preset's chain spec by name (a storyboard's style may name one). */
  presetSpec?: (name: string) => Promise<unknown>;
  /** Signs each render's manifest (Ed25519, core/provenance); without one, manifests are written unsigned. */
  signer?: ProvenanceSigner;
  cacheMaxBytes: number;
  /** Free space the data directory's disk must keep; a render below it fails before writing more. */
  minFreeBytes: number;
  /** Free bytes on the disk of a folder (default: statfs); a test gives a fake, a disk cannot be filled safely on a shared machine. */
  freeBytes?: (dir: string) => Promise<number>;
  stallS: number;
  /** This node's LIVEFX_NODE_URL: renders enqueued here name it, so a worker elsewhere reads their inputs from here. */
  origin?: string | undefined;
  /** Reads inputs of renders enqueued on other nodes and publishes their outputs there (LIVEFX_INTERNAL_SECRET set). */
  remote?: RemoteMedia | undefined;
  /** LIVEFX_TRANSFORM_BACKEND: where look passes run their chain (default auto, as live streams). */
  transformBackend?: TransformBackendSetting;
  log: Logger;
}

/** What a render job carries: the storyboard as it was when asked, so a re-run renders the same. */
export interface RenderJobParams {
  storyboard: StoryboardBody;
  storyboard_id: string | null;
  /** The storyboard's last change (MP4 tags carry it instead of the render time: same input, same bytes). */
  storyboard_time: string | null;
  quality: Quality;
  seed: number;
  caller: StudioCaller;
}

/** What a render job's params must hold to run: anything else in the queue fails once as malformed. */
const renderJobParamsSchema = z.object({
  storyboard: storyboardBodySchema,
  storyboard_id: z.string().nullable().optional(),
  storyboard_time: z.string().nullable().optional(),
  quality: z.enum(['preview', 'high']),
  seed: z.number().int(),
  caller: z.object({ role: z.enum(['admin', 'operator']), streamId: z.string().optional() }),
});

/** A storyboard as the compositor needs it; a stored one that no longer validates is a 422 naming the field. */
function validStoryboard(body: unknown): StoryboardBody {
  const result = storyboardBodySchema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new LivefxError('invalid_request', `storyboard ${issue.path.join('.') || 'body'}: ${issue.message}`, { httpStatus: 422, details: { field: issue.path.join('.') } });
}

/** The picture size of a source and whether it has sound. */
interface MediaProbe {
  width: number;
  height: number;
  hasAudio: boolean;
}

/**
 * Media files whose hash and probe are remembered (by path, size and mtime): a render reads at most 20
 * sources, so 256 covers many renders' working set, while a server running for months stays a few
 * tens of kB; a file evicted is only hashed again (about a second per GB).
 */
export const MEDIA_MEMO_ENTRIES = 256;
/**
 * Warm studio threads are ended after this long unused: a studio session renders in bursts (preview,
 * edit, preview, final) minutes apart, and an idle server should hold no face model or transform chain.
 */
const WARM_THREAD_IDLE_MS = 10 * 60_000;

/** The result as stored in the job: file names inside the render's folder (routes turn them into URLs). */
export type StoredRenderResult = RenderResult;

/** A memo key naming one version of a file: a file rewritten in place gets a new one. */
async function mediaVersion(file: string): Promise<string> {
  const info = await stat(file);
  return `${file}:${info.size}:${info.mtimeMs}`;
}

const PACKAGE_VERSION = await readFile(fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../package.json' : '../package.json', import.meta.url)), 'utf8')
  .then((text) => (JSON.parse(text) as { version: string }).version)
  .catch(() => 'unknown');

/**
 * Studio renders as jobs of the shared queue (kind `render`): a storyboard (or a filled template)
 * becomes a video in `$LIVEFX_DATA_DIR/studio/renders/<id>/` — video.mp4, thumbnail.jpg,
 * captions.vtt, manifest.json — written only when complete. Shots are reused from the shot cache.
 */
export class RenderService {
  readonly queue: JobQueue;
  readonly cache: ShotCache;
  private readonly runner: ProcessRunner;
  private readonly compositor: Compositor;
  /** Look threads (one per shot rendering at once) and one face sampler with its model loaded, kept warm. */
  readonly threads = new WorkerPool({ maxIdle: { [LOOKS_WORKER]: SHOT_CONCURRENCY, [FACE_SAMPLER_WORKER]: 1 }, idleMs: WARM_THREAD_IDLE_MS });
  private readonly hashes = new MemoCache<string>({ maxEntries: MEDIA_MEMO_ENTRIES });
  private readonly probes = new MemoCache<MediaProbe>({ maxEntries: MEDIA_MEMO_ENTRIES });
  private ffmpegVersion: string | undefined;

  constructor(private readonly options: RenderServiceOptions) {
    this.queue = options.jobQueue;
    this.runner = new ProcessRunner({ ffmpeg: options.ffmpeg, ffprobe: options.ffprobe, stallS: options.stallS, label: 'render' });
    this.cache = new ShotCache({ dir: path.join(options.dataDir, 'studio', 'cache'), maxBytes: options.cacheMaxBytes });
    this.compositor = new Compositor({
      runner: this.runner,
      ffmpeg: options.ffmpeg,
      cache: this.cache,
      lutDir: path.join(options.dataDir, 'luts'),
      imageDir: path.join(options.dataDir, 'images'),
      stallS: options.stallS,
      pool: this.threads,
      ...(options.transformBackend ? { transformBackend: options.transformBackend } : {}),
    });
    this.queue.register('render', (job, context) => this.run(job, context));
  }

  rendersDir(): string {
    return path.join(this.options.dataDir, 'studio', 'renders');
  }

  renderDir(id: string): string {
    return path.join(this.rendersDir(), id);
  }

  /**
   * Checks and queues a render. Throws LivefxError: unknown storyboard (404), a template's problems
   * (from TemplateLibrary.expand), a source the caller may not read (403), a missing source (404).
   */
  async submit(request: RenderRequest, caller: StudioCaller, enqueue: EnqueueOptions = {}): Promise<Job> {
    let storyboard: StoryboardBody;
    let storyboardId: string | null = null;
    let storyboardTime: string | null = null;
    if ('storyboard_id' in request) {
      const stored = await this.options.storyboards.get(request.storyboard_id);
      if (!stored) throw new LivefxError('storyboard_not_found', `no storyboard with id "${request.storyboard_id}" (deleted, or never made)`);
      const { id, provenance: _provenance, created_at: _created, updated_at, ...body } = stored;
      storyboard = validStoryboard(body);
      storyboardId = id;
      storyboardTime = updated_at;
    } else {
      if (!this.options.templates) throw new LivefxError('not_found', 'templates are not available on this server');
      storyboard = validStoryboard(await this.options.templates.expand(request.template, request.merge, request.sources ?? {}, caller, request.seed));
    }
    return this.submitStoryboard(storyboard, { quality: request.quality, ...(request.seed !== undefined ? { seed: request.seed } : {}), storyboardId, storyboardTime }, caller, enqueue);
  }

  /** Queues a render of a storyboard given whole (a JSON file of the CLI, or an expanded template). */
  async submitStoryboard(input: unknown, options: { quality: Quality; seed?: number; storyboardId?: string | null; storyboardTime?: string | null }, caller: StudioCaller, enqueue: EnqueueOptions = {}): Promise<Job> {
    const storyboard = validStoryboard(input);
    const storyboardId = options.storyboardId ?? null;
    const storyboardTime = options.storyboardTime ?? null;
    const seed = options.seed ?? storyboard.seed;
    // Fail now rather than in the queue: every source must exist and be readable by the caller.
    await this.checkStyle(storyboard.style);
    for (const shot of storyboard.shots) {
      if (shot.source && 'recording_id' in shot.source) {
        const recording = await this.readableRecording(shot.source.recording_id, caller);
        if (recording.durationS > 0 && shot.source.in >= recording.durationS) {
          throw new LivefxError('invalid_request', `shots.${shot.index}.source.in: ${shot.source.in} s is past the end of recording ${recording.id} (${recording.durationS} s)`, { httpStatus: 422, details: { field: `shots.${shot.index}.source.in` } });
        }
      }
      if (shot.source && 'asset_id' in shot.source) await this.assetFile(shot.source.asset_id);
    }
    if (storyboard.music && !isMusicBed(storyboard.music.track)) await this.audioFile(storyboard.music.track);
    const params: RenderJobParams = { storyboard, storyboard_id: storyboardId, storyboard_time: storyboardTime, quality: options.quality, seed, caller };
    return this.queue.enqueue('render', withOrigin(params, this.options.origin), enqueue);
  }

  /** Removes a render's files (its job row is the caller's). */
  async deleteOutputs(id: string): Promise<void> {
    await rm(this.renderDir(id), { recursive: true, force: true });
  }

  /** Stops the queue (running renders are cancelled) and ends the warm threads. Idempotent. */
  async close(): Promise<void> {
    await this.queue.close();
    await this.threads.close();
  }

  /** The look of a style: a named look, or a stored preset's chain (read first: the resolver itself is synchronous). */
  private async look(style: string): Promise<ReturnType<typeof resolveLook>> {
    const preset = await this.options.presetSpec?.(style);
    return resolveLook(style, (name) => (name === style ? preset : undefined));
  }

  private async checkStyle(style: string): Promise<void> {
    try {
      await this.look(style);
    } catch (error) {
      if (error instanceof LookNotFoundError) throw new LivefxError('invalid_request', error.message, { httpStatus: 422, details: { field: 'style' } });
      throw error;
    }
  }

  private async readableRecording(id: string, caller: StudioCaller): Promise<{ id: string; streamId: string | null; title: string; durationS: number; nodeUrl?: string }> {
    const recording = await this.options.recordings.catalog.get(id);
    if (!recording) throw new LivefxError('recording_not_found', `no recording with id "${id}"`);
    if (caller.role === 'operator' && caller.streamId !== undefined && recording.streamId !== caller.streamId) {
      throw new LivefxError('forbidden', `recording ${id} belongs to another stream: this operator token reaches only stream ${caller.streamId}`);
    }
    if (recording.state === 'recording' || this.options.recordings.isRecording(id)) throw new LivefxError('recording_in_progress', `recording ${id} is still in progress; it can be used once the stream has ended`);
    return recording;
  }

  /** An image asset by name: a plain file name inside `$LIVEFX_DATA_DIR/images`, never a path. */
  private async assetFile(assetId: string): Promise<string> {
    if (!/^[\w][\w .-]{0,120}$/.test(assetId) || assetId.includes('..')) throw new LivefxError('invalid_request', `asset_id "${assetId}": must be the name of an uploaded image (no paths)`, { httpStatus: 400 });
    const file = path.join(this.options.dataDir, 'images', assetId);
    if (!(await stat(file).catch(() => undefined))?.isFile()) throw new LivefxError('asset_not_found', `no image asset "${assetId}" (upload it with POST /v1/images)`);
    return file;
  }

  /** An uploaded music track: a plain file name inside `$LIVEFX_DATA_DIR/audio`. */
  private async audioFile(track: string): Promise<string> {
    if (!/^[\w][\w .-]{0,120}$/.test(track) || track.includes('..')) throw new LivefxError('invalid_request', `music.track "${track}": must be a built-in bed (uplift, calm, drive) or the name of an audio file in the audio folder`, { httpStatus: 400 });
    const file = path.join(this.options.dataDir, 'audio', track);
    if (!(await stat(file).catch(() => undefined))?.isFile()) throw new LivefxError('asset_not_found', `music track "${track}" is neither a built-in bed (uplift, calm, drive) nor an uploaded track (upload it with POST /v1/music)`);
    return file;
  }

  /**
   * The look with the folders its LUT and image files are read from, and the hash of each (the shot
   * cache key). A render from another node fetches them from that node (cached like its other inputs)
   * into the render's scratch folder, so the look is the same wherever the render runs.
   */
  private async withLookFiles(look: ResolvedLook, workDir: string, from: { remote: RemoteMedia; origin: string } | undefined, signal: AbortSignal): Promise<ResolvedLook> {
    const names = lookFileNames(look.spec);
    if (names.length === 0) return look;
    const files: LookFolders = from
      ? { lutDir: path.join(workDir, 'look', 'luts'), imageDir: path.join(workDir, 'look', 'images'), versions: {} }
      : { lutDir: path.join(this.options.dataDir, 'luts'), imageDir: path.join(this.options.dataDir, 'images'), versions: {} };
    for (const { area, name } of names) {
      const file = path.join(area === 'luts' ? files.lutDir : files.imageDir, name);
      if (from) {
        const fetched = await from.remote.input(from.origin, area, name, signal).catch((error: unknown) => {
          if (error instanceof RemoteMediaRefusal && error.status === 404) {
            throw new LivefxError('asset_not_found', `style "${look.name}" names ${area === 'luts' ? 'the LUT' : 'the image'} "${name}", which its node ${from.origin} does not have (upload it with POST /v1/${area})`);
          }
          throw error;
        });
        await mkdir(path.dirname(file), { recursive: true });
        await copyFile(fetched, file);
      }
      // A file missing here fails in the look pass with its own message; it has no version to key on.
      const version = await this.mediaHash(file).catch(() => undefined);
      if (version) files.versions[`${area}/${name}`] = version;
    }
    return { ...look, files };
  }

  private async checkDisk(): Promise<void> {
    if (this.options.minFreeBytes <= 0) return;
    await mkdir(this.rendersDir(), { recursive: true });
    const free = this.options.freeBytes ? await this.options.freeBytes(this.rendersDir()) : await statfs(this.rendersDir()).then((space) => space.bavail * space.bsize);
    if (free < this.options.minFreeBytes) {
      throw new LivefxError('disk_floor', `render stopped: ${Math.floor(free / 2 ** 20)} MB free on the data disk, below the floor of ${Math.round(this.options.minFreeBytes / 2 ** 20)} MB (LIVEFX_STUDIO_MIN_FREE_MB); nothing was written`);
    }
  }

  private async mediaHash(file: string): Promise<string> {
    return this.hashes.get(await mediaVersion(file), () => sha256OfFile(file));
  }

  /** The media's picture size and whether it has sound; remembered like its hash (shots often share a recording). */
  private async probe(file: string, signal: AbortSignal): Promise<MediaProbe> {
    return this.probes.get(await mediaVersion(file), () => this.probeNow(file, signal));
  }

  private async probeNow(file: string, signal: AbortSignal): Promise<MediaProbe> {
    const out = await this.runner.probe(['-show_entries', 'stream=codec_type,width,height', '-of', 'json', file], signal, { stage: 'resolving' });
    const streams = (JSON.parse(out) as { streams?: { codec_type: string; width?: number; height?: number }[] }).streams ?? [];
    const video = streams.find((stream) => stream.codec_type === 'video');
    if (!video?.width || !video.height) throw new LivefxError('missing_media', `${path.basename(file)} has no video stream`);
    return { width: video.width, height: video.height, hasAudio: streams.some((stream) => stream.codec_type === 'audio') };
  }

  private async words(recordingId: string, fromS: number, toS: number): Promise<TimedWord[]> {
    const words: TimedWord[] = [];
    for await (const event of this.options.recordings.catalog.events(recordingId, { types: ['transcript-word'], fromS, toS })) {
      const word = event.payload.word;
      const end = Number(event.payload.end ?? event.t + 0.3);
      if (typeof word === 'string' && event.t >= fromS && event.t < toS) words.push({ word, t: event.t, end });
    }
    return words.sort((a, b) => a.t - b.t);
  }

  private async run(job: Job, context: JobContext): Promise<StoredRenderResult> {
    const { params: ownParams, origin } = splitOrigin(job.params);
    const checked = renderJobParamsSchema.safeParse(ownParams);
    if (!checked.success) throw MalformedJobError.fromZod(checked.error);
    const params = ownParams as RenderJobParams;
    const { storyboard, quality, seed, caller } = params;
    const signal = context.signal;
    // A render enqueued on another node reads its recordings, images and music from that node.
    const remote = this.options.remote?.isRemote(origin) ? this.options.remote : undefined;
    const dir = this.renderDir(job.id);
    const workDir = path.join(this.options.dataDir, 'studio', 'work', job.id);
    // A re-run (after a restart) starts from nothing: outputs are rewritten whole.
    await rm(dir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
    try {
      context.progress(0, 'resolving');
      await this.checkDisk();
      const look = await this.withLookFiles(await this.look(storyboard.style), workDir, remote ? { remote, origin: origin! } : undefined, signal);
      const sources: (ResolvedShotSource | undefined)[] = [];
      const manifestSources: RenderManifest['sources'] = [];
      for (const shot of storyboard.shots) {
        if (signal.aborted) throw new JobCancelledError('cancelled');
        const source = shot.source;
        if (source && 'recording_id' in source) {
          // Its files are on the node that recorded or imported it (in a cluster, its row names it), else on the job's node.
          const holder = (await this.readableRecording(source.recording_id, caller)).nodeUrl ?? origin;
          const { file } = this.options.remote?.isRemote(holder)
            ? await this.options.remote.recording(holder, source.recording_id, 'original', signal)
            : await this.options.recordings.media(source.recording_id, 'original', signal);
          const [sha256, probe] = await Promise.all([this.mediaHash(file), this.probe(file, signal)]);
          const seconds = shot.duration;
          sources.push({ picture: { type: 'video', recordingId: source.recording_id, file, sha256, in: source.in, ...probe }, words: await this.words(source.recording_id, source.in, source.in + seconds) });
          manifestSources.push({ recording_id: source.recording_id, in: source.in, out: source.out, sha256 });
        } else if (source && 'asset_id' in source) {
          const file = remote ? await remote.input(origin!, 'images', source.asset_id, signal) : await this.assetFile(source.asset_id);
          const sha256 = await this.mediaHash(file);
          sources.push({ picture: { type: 'image', assetId: source.asset_id, file, sha256 }, words: [] });
          manifestSources.push({ asset_id: source.asset_id, sha256 });
        } else sources.push(undefined);
      }
      const track = storyboard.music && !isMusicBed(storyboard.music.track) ? storyboard.music.track : undefined;
      const trackFile = track === undefined ? undefined : remote ? await remote.input(origin!, 'audio', track, signal) : await this.audioFile(track);
      const music = storyboard.music && trackFile ? { ...storyboard.music, track: trackFile } : storyboard.music;
      const timeline = buildTimeline({ ...storyboard, ...(music ? { music } : {}) }, quality, seed, look, sources);
      this.ffmpegVersion ??= await this.runner.version();
      const engine = { livefx: PACKAGE_VERSION, compositor: ENGINE_VERSION, ffmpeg: this.ffmpegVersion };
      const label = look.stylized && look.spec.transforms.some((entry) => entry.name === 'label' && entry.enabled) ? AI_EDITED_LABEL : null;
      const embedded = {
        prompt: storyboard.prompt,
        template: storyboard.template ?? null,
        storyboard_id: params.storyboard_id,
        seed,
        style: storyboard.style,
        sources: manifestSources,
        engine,
        time: params.storyboard_time,
      };
      await mkdir(workDir, { recursive: true });
      const staging = path.join(workDir, 'out');
      await mkdir(staging, { recursive: true });
      const result = await this.compositor.render({
        timeline,
        workDir,
        outFile: path.join(staging, 'video.mp4'),
        captionsFile: path.join(staging, 'captions.vtt'),
        metadata: { title: storyboard.prompt.slice(0, 200), comment: JSON.stringify(embedded), description: label ?? 'livefx studio render', encoder: `livefx ${PACKAGE_VERSION}` },
        signal,
        progress: (fraction, stage) => context.progress(0.02 + 0.93 * fraction, stage),
        beforeStep: () => this.checkDisk(),
      });
      context.progress(0.96, 'finishing');
      const video = path.join(staging, 'video.mp4');
      const firstBody = timeline.shots[0]!;
      await this.runner.ffmpegRun(['-y', '-ss', Math.min(1, (firstBody.frames / timeline.fps) / 2).toFixed(3), '-i', video, '-frames:v', '1', '-q:v', '4', path.join(staging, 'thumbnail.jpg')], signal, { stage: 'finishing' });
      const bytes = (await stat(video)).size;
      const unsigned: RenderManifest = {
        type: 'livefx-studio-render',
        render_id: job.id,
        prompt: storyboard.prompt,
        template: storyboard.template ?? null,
        storyboard_id: params.storyboard_id,
        seed,
        style: storyboard.style,
        aspect: storyboard.aspect,
        quality,
        sources: manifestSources,
        engine,
        ai_edited: look.stylized,
        label,
        rendered_at: new Date().toISOString(),
        output: { file: 'video.mp4', sha256: await sha256OfFile(video), bytes, duration: result.durationS, width: timeline.width, height: timeline.height },
        signature: null,
      };
      // Signed like every livefx output: `livefx verify video.mp4` finds video.mp4.provenance.json beside it.
      const manifest = this.options.signer ? await this.options.signer.writeBeside(video, unsignedFields(unsigned)) : unsigned;
      await writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      // Published whole: the render's folder appears with every file in it, or not at all.
      await mkdir(this.rendersDir(), { recursive: true });
      await rename(staging, dir);
      if (remote) {
        // Every node serves it from the node the render came from; this machine keeps no copy.
        await remote.publish(origin!, 'renders', job.id, dir, signal);
        await rm(dir, { recursive: true, force: true });
      }
      context.progress(1, 'done');
      return {
        file: 'video.mp4',
        duration: result.durationS,
        width: timeline.width,
        height: timeline.height,
        thumbnail: 'thumbnail.jpg',
        captions: result.captions ? 'captions.vtt' : null,
        shots: result.shots,
        provenance: manifest as unknown as Record<string, unknown>,
      };
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      // Stored as `[code] message`: the API shows `{ code, message }` (a cancel is not a failure).
      throw error instanceof JobCancelledError ? error : new RenderFailure(error);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}
