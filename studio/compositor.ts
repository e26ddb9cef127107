import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { JobCancelledError, type ProcessRunner } from '../core/process/process-runner.js';
import { AudioMixer, filterPath, type ShotAudio } from './audio-mixer.js';
import { coverCrop, cropCommands, followFacePath } from './camera-path.js';
import { FaceSampler } from './face-sampler.js';
import { lookChangesPixels, lookIsPerPixel } from './looks.js';
import { LooksRender } from './looks-render.js';
import type { TransformBackendSetting } from '../transforms/transform-backend.js';
import { contentKey, type ShotCache } from './shot-cache.js';
import type { WorkerPool } from './worker-pool.js';
import { sourceSeconds, type OverlayLayer, type PictureLayer, type Timeline, type TimelineShot, type TimedWord } from './timeline.js';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const FONT_BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
/** Camera moves zoom by this much over a shot (12 %: visible, never losing the subject). */
const MOVE_ZOOM = 0.12;
/** Caption groups: at most this many words, broken at pauses longer than CAPTION_PAUSE_S. */
const CAPTION_WORDS = 4;
const CAPTION_PAUSE_S = 0.7;
/** Shots (and transitions) rendered at once: one per core, and two on a single core so ffmpeg start-up and seeking overlap. */
export const SHOT_CONCURRENCY = Math.max(2, availableParallelism());
/** In the key of follow-face shots only: bumped when the face path changes, without touching other shots' entries. */
const FOLLOW_FACE_VERSION = 'follow-face/1';

export type RenderStage = 'shots' | 'transitions' | 'audio' | 'stitch';

export interface CompositorOptions {
  runner: ProcessRunner;
  ffmpeg: string;
  cache: ShotCache;
  /** Folders of the look's LUT and image files (the same as live). */
  lutDir: string;
  imageDir: string;
  /** A look pass with no new frame for this long fails. */
  stallS: number;
  /** Warm look and face-sampler threads, reused across shots and renders. */
  pool?: WorkerPool;
  /** LIVEFX_TRANSFORM_BACKEND: the look pass runs its chain where live streams run theirs (default auto). */
  transformBackend?: TransformBackendSetting;
}

export interface CompositeRequest {
  timeline: Timeline;
  /** Scratch folder of this render (text files, the audio mix, the concat list). */
  workDir: string;
  /** The finished file; written under a temporary name and renamed only when complete. */
  outFile: string;
  /** WebVTT sidecar of the captions, written when the timeline has any. */
  captionsFile: string;
  /** MP4 metadata tags (provenance). */
  metadata: Record<string, string>;
  signal: AbortSignal;
  progress: (fraction: number, stage: RenderStage) => void;
  /** Awaited before each shot and before the stitch (the render service checks the disk floor here). */
  beforeStep?: () => Promise<void>;
}

export interface CompositeResult {
  durationS: number;
  shots: { index: number; cached: boolean; ms: number }[];
  /** Whether the captions sidecar was written. */
  captions: boolean;
}

/** What one shot left in the cache: the parts the stitch and the transitions read. */
interface ShotParts {
  dir: string;
  head: string | undefined;
  body: string;
  tail: string | undefined;
}

/**
 * Renders a timeline in two lanes at once: the video lane renders every shot on its own (picture,
 * camera move, look, text, captions) into the shot cache and the transitions between shots; the
 * audio lane mixes, levels and encodes the sound. A stitch then copies both end to end (no re-encode).
 */
export class Compositor {
  private readonly audio: AudioMixer;

  constructor(private readonly options: CompositorOptions) {
    this.audio = new AudioMixer(options.runner);
  }

  async render(request: CompositeRequest): Promise<CompositeResult> {
    const { timeline } = request;
    await mkdir(request.workDir, { recursive: true });
    const durationS = timeline.frames / timeline.fps;
    // The audio needs none of the pictures: it is mixed, levelled and encoded while the shots render.
    // The first failure of either lane stops the other; a cancel stops both.
    const lanes = new AbortController();
    const stopLanes = (): void => lanes.abort();
    request.signal.addEventListener('abort', stopLanes, { once: true });
    if (request.signal.aborted) lanes.abort();
    let firstFailure: { error: unknown } | undefined;
    const failed = (error: unknown): never => {
      firstFailure ??= { error };
      lanes.abort();
      throw error;
    };
    let audioDone = false;
    const audio = this.audioTrack(timeline, request.workDir, lanes.signal).then((file) => {
      audioDone = true;
      return file;
    }, failed);
    const video = this.videoTrack(request, lanes.signal, failed).then((track) => {
      if (!audioDone) request.progress(0.8, 'audio');
      return track;
    }, failed);
    const [videoOutcome, audioOutcome] = await Promise.allSettled([video, audio]);
    request.signal.removeEventListener('abort', stopLanes);
    if (videoOutcome.status === 'rejected' || audioOutcome.status === 'rejected') throw request.signal.aborted ? new JobCancelledError('cancelled') : firstFailure!.error;
    const { segments, shotReports } = videoOutcome.value;
    const audioFile = audioOutcome.value;
    const signal = request.signal;
    request.progress(0.9, 'stitch');
    await request.beforeStep?.();
    const list = path.join(request.workDir, 'segments.txt');
    await writeFile(list, segments.map((file) => `file '${file.replace(/'/g, "'\\''")}'\n`).join(''));
    const partial = `${request.outFile}.partial.mp4`;
    const metadata = Object.entries(request.metadata).flatMap(([key, value]) => ['-metadata', `${key}=${value}`]);
    try {
      // Every part is already encoded with the same parameters: the stitch only copies packets.
      await this.options.runner.ffmpegRun(
        [
          '-y',
          ...['-f', 'concat', '-safe', '0', '-i', list, '-i', audioFile],
          ...['-map', '0:v', '-map', '1:a', '-c', 'copy'],
          ...['-t', durationS.toFixed(6), '-map_metadata', '-1', '-map_chapters', '-1', ...metadata, '-movflags', '+faststart+use_metadata_tags'],
          ...['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact', '-f', 'mp4', partial],
        ],
        signal,
        { stage: 'stitch', inputS: durationS },
      );
      const captions = captionCues(timeline);
      if (captions.length > 0) await writeFile(request.captionsFile, webVtt(captions));
      await rename(partial, request.outFile);
      return { durationS, shots: shotReports, captions: captions.length > 0 };
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  /**
   * The video lane: shots render up to SHOT_CONCURRENCY at once, each into its own cache entry, and
   * each transition starts as soon as the two shots it blends are there. Returns the parts in order.
   */
  private async videoTrack(request: CompositeRequest, signal: AbortSignal, failed: (error: unknown) => never): Promise<{ segments: string[]; shotReports: CompositeResult['shots'] }> {
    const { timeline } = request;
    const shotReports: CompositeResult['shots'] = [];
    const keys = timeline.shots.map((shot) => this.shotKey(timeline, shot));
    const slot = concurrencyLimit(SHOT_CONCURRENCY);
    let framesDone = 0;
    request.progress(0, 'shots');
    const shots = timeline.shots.map((shot) =>
      slot(async (): Promise<ShotParts> => {
        if (signal.aborted) throw new JobCancelledError('cancelled');
        await request.beforeStep?.();
        const started = performance.now();
        const key = keys[shot.index]!;
        let dir = await this.options.cache.lookup(key);
        const cached = dir !== undefined;
        dir ??= await this.options.cache.store(key, (temp) => this.renderShot(timeline, shot, temp, path.join(request.workDir, `shot-${shot.index}`), signal));
        shotReports[shot.index] = { index: shot.index, cached, ms: Math.round(performance.now() - started) };
        framesDone += shot.frames;
        request.progress(0.7 * (framesDone / timeline.frames), 'shots');
        return shotParts(dir, shot);
      }).catch(failed),
    );
    const transitions = timeline.shots.map(async (shot, index): Promise<string | undefined> => {
      if (index === 0 || shot.transitionFrames === 0) return undefined;
      const [previous, current] = await Promise.all([shots[index - 1]!, shots[index]!]);
      return slot(() => {
        if (signal.aborted) throw new JobCancelledError('cancelled');
        return this.transition(timeline, shot, keys[index - 1]!, keys[index]!, previous, current, signal);
      });
    });
    // Settled from the start: a transition whose shot failed is then never an unhandled rejection.
    const transitionsSettled = Promise.allSettled(transitions);
    const shotOutcomes = await Promise.allSettled(shots);
    if (shotOutcomes.every((outcome) => outcome.status === 'fulfilled')) request.progress(0.7, 'transitions');
    const transitionOutcomes = await transitionsSettled;
    const failure = [...shotOutcomes, ...transitionOutcomes].find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    const parts = shotOutcomes.map((outcome) => (outcome as PromiseFulfilledResult<ShotParts>).value);
    const segments = parts.flatMap((part, index) => {
      const blend = (transitionOutcomes[index] as PromiseFulfilledResult<string | undefined>).value;
      return blend ? [blend, part.body] : [part.body];
    });
    return { segments, shotReports };
  }

  /** The audio lane: each clip's own sound, voice-over and music mixed, levelled and encoded, cached as one entry. */
  private async audioTrack(timeline: Timeline, workDir: string, signal: AbortSignal): Promise<string> {
    const durationS = timeline.frames / timeline.fps;
    const audioShots = timeline.shots.flatMap((shot): ShotAudio[] => {
      if (shot.picture.type !== 'video' || !shot.picture.hasAudio) return [];
      return [{ file: shot.picture.file, inS: shot.picture.in, atS: shot.startFrame / timeline.fps, durationS: sourceSeconds(timeline, shot), fadeInS: shot.transitionFrames / timeline.fps, fadeOutS: shot.handleFrames / timeline.fps }];
    });
    // The audio depends on the shots' sound, not on their pictures: a text or look variant reuses the track.
    const audioKey = contentKey({
      what: 'audio',
      shots: timeline.shots.map((shot) => (shot.picture.type === 'video' && shot.picture.hasAudio ? { sha256: shot.picture.sha256, in: shot.picture.in, frames: shot.frames, head: shot.transitionFrames, handle: shot.handleFrames, start: shot.startFrame } : null)),
      fps: timeline.fps,
      frames: timeline.frames,
      voiceover: timeline.voiceover ?? null,
      music: timeline.music ?? null,
      encoding: { bitrate: audioBitrate(timeline), preview: timeline.quality === 'preview' },
    });
    const dir = (await this.options.cache.lookup(audioKey)) ?? (await this.options.cache.store(audioKey, async (temp) => {
      const music = timeline.music ? { track: timeline.music.track, gainDb: timeline.music.gain_db, duck: timeline.music.duck, file: await this.musicFile(timeline.music.track, durationS, signal) } : undefined;
      const mix = await this.audio.mix({
        durationS,
        shots: audioShots,
        ...(timeline.voiceover ? { voiceover: { text: timeline.voiceover.text, voice: timeline.voiceover.voice } } : {}),
        ...(music ? { music } : {}),
        workDir,
        signal,
      });
      const level = await this.audio.levelFilter(mix, durationS, signal);
      await this.audio.encode({ mix, levelFilter: level, bitrate: audioBitrate(timeline), preview: timeline.quality === 'preview', out: path.join(temp, 'audio.m4a'), durationS, signal });
      await rm(mix, { force: true });
    }));
    return path.join(dir, 'audio.m4a');
  }

  /** An uploaded track's path (the render service names it by path), or a built-in bed of this length from the cache. */
  private async musicFile(track: string, durationS: number, signal: AbortSignal): Promise<string> {
    if (path.isAbsolute(track)) return track;
    const key = contentKey({ what: 'bed', track, duration: durationS.toFixed(6) });
    const dir = (await this.options.cache.lookup(key)) ?? (await this.options.cache.store(key, (temp) => this.audio.synthesizeBed(track, durationS, path.join(temp, 'bed.wav'), signal)));
    return path.join(dir, 'bed.wav');
  }

  /** The content hash of a shot: its source (media hash and range), layers, look, size, quality, seed. */
  private shotKey(timeline: Timeline, shot: TimelineShot): string {
    return contentKey({
      what: 'shot',
      picture: pictureIdentity(shot.picture),
      frames: shot.frames,
      head: shot.transitionFrames,
      handle: shot.handleFrames,
      camera: shot.camera,
      follow: shot.camera === 'follow-face' ? FOLLOW_FACE_VERSION : undefined,
      overlays: shot.overlays,
      look: shot.lookApplies ? timeline.look.spec : null,
      // A LUT or image replaced under the same name is another look: its content hash is part of the key.
      lookFiles: shot.lookApplies && timeline.look.files && Object.keys(timeline.look.files.versions).length > 0 ? timeline.look.files.versions : undefined,
      width: timeline.width,
      height: timeline.height,
      fps: timeline.fps,
      quality: timeline.quality,
      seed: timeline.seed,
    });
  }

  private async renderShot(timeline: Timeline, shot: TimelineShot, dir: string, textDir: string, signal: AbortSignal): Promise<void> {
    await mkdir(textDir, { recursive: true });
    const totalFrames = shot.frames + shot.handleFrames;
    const seconds = sourceSeconds(timeline, shot);
    const follow = shot.camera === 'follow-face' ? await this.followFace(timeline, shot, seconds, totalFrames, textDir, signal) : undefined;
    const overlays = await overlayFilters(timeline, shot, textDir);
    const outputs = splitOutputs(shot, dir, timeline);
    const picture = pictureFilter(timeline, shot, seconds, totalFrames, follow);
    if (!shot.lookApplies || !lookChangesPixels(timeline.look)) {
      await this.options.runner.ffmpegRun(['-y', ...picture.inputArgs, '-filter_complex', `[0:v]${picture.filter}${overlays ? `,${overlays}` : ''},${outputs.filter}`, ...outputs.args], signal, { stage: 'shots', inputS: seconds });
      return;
    }
    // A per-pixel look (colour, LUT) runs on the source's pixels before the camera move: for a 720p
    // clip in a 1080×1920 frame that is 7× fewer pixels through the kernels and the pipes. Any other
    // look (vignette, label, grain…) depends on where a pixel lands, so it runs on the output frames.
    // A follow-face shot's crop moves frame by frame over the source: its look runs on the output frames.
    const early = !follow && lookIsPerPixel(timeline.look) ? sourceWorkFrame(timeline, shot) : undefined;
    const decoded = early ? { width: early.width, height: early.height, filter: early.filter } : { width: timeline.width, height: timeline.height, filter: picture.filter };
    const encoderSteps = [...(early ? [early.camera] : []), ...(overlays ? [overlays] : [])].map((step) => `${step},`).join('');
    const look = new LooksRender({
      ffmpeg: this.options.ffmpeg,
      decoderArgs: [...picture.inputArgs, '-filter_complex', `[0:v]${decoded.filter}[v]`, '-map', '[v]', '-f', 'yuv4mpegpipe', '-pix_fmt', 'yuv420p', '-'],
      encoderArgs: ['-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${decoded.width}x${decoded.height}`, '-framerate', String(timeline.fps), '-i', '-', '-filter_complex', `[0:v]${encoderSteps}${outputs.filter}`, ...outputs.args],
      width: decoded.width,
      height: decoded.height,
      fps: timeline.fps,
      spec: timeline.look.spec,
      lutDir: timeline.look.files?.lutDir ?? this.options.lutDir,
      imageDir: timeline.look.files?.imageDir ?? this.options.imageDir,
      transformBackend: this.options.transformBackend ?? 'auto',
      signal,
      stallS: this.options.stallS,
      ...(this.options.pool ? { pool: this.options.pool } : {}),
    });
    await look.run();
  }

  /** The crop window along the shot's face (sampled in a worker thread); undefined without a face: the centred crop stays. */
  private async followFace(timeline: Timeline, shot: TimelineShot, seconds: number, totalFrames: number, textDir: string, signal: AbortSignal): Promise<FollowCrop | undefined> {
    const picture = shot.picture;
    if (picture.type !== 'video') return undefined;
    const crop = coverCrop(picture.width, picture.height, timeline.width, timeline.height);
    if (crop.width >= picture.width - 1 && crop.height >= picture.height - 1) return undefined;
    const samples = await new FaceSampler({ ffmpeg: this.options.ffmpeg, file: picture.file, sourceWidth: picture.width, sourceHeight: picture.height, in: picture.in, seconds, signal, stallS: this.options.stallS, ...(this.options.pool ? { pool: this.options.pool } : {}) }).run();
    const facePath = followFacePath({ samples, frames: totalFrames, fps: timeline.fps, sourceWidth: picture.width, sourceHeight: picture.height, cropWidth: crop.width, cropHeight: crop.height });
    if (!facePath) return undefined;
    const commands = path.join(textDir, 'follow-face.cmd');
    await writeFile(commands, cropCommands(facePath, timeline.fps, 'follow'));
    return { commands, width: crop.width, height: crop.height, x: facePath.x[0]!, y: facePath.y[0]! };
  }

  /** The blend between one shot's handle and the next one's head, cached under both shots' keys. */
  private async transition(timeline: Timeline, shot: TimelineShot, previousKey: string, key: string, previous: ShotParts, current: ShotParts, signal: AbortSignal): Promise<string> {
    const transitionKey = contentKey({ what: 'transition', previousKey, key, name: shot.transition, frames: shot.transitionFrames });
    const hit = await this.options.cache.lookup(transitionKey);
    const dir = hit ?? (await this.options.cache.store(transitionKey, async (temp) => {
      const seconds = shot.transitionFrames / timeline.fps;
      await this.options.runner.ffmpegRun(
        ['-y', '-i', previous.tail!, '-i', current.head!, '-filter_complex', `[0:v][1:v]xfade=transition=${XFADE[shot.transition]}:duration=${seconds.toFixed(6)}:offset=0,trim=end_frame=${shot.transitionFrames},setpts=PTS-STARTPTS,format=yuv420p[v]`, '-map', '[v]', ...videoEncoding(timeline), path.join(temp, 'transition.mp4')],
        signal,
        { stage: 'transitions', inputS: seconds },
      );
    }));
    return path.join(dir, 'transition.mp4');
  }
}

/** AAC bit rate of the audio track. */
function audioBitrate(timeline: Timeline): string {
  return timeline.quality === 'high' ? '192k' : '96k';
}

/** Runs at most `slots` tasks at once, in the order they are asked for. */
function concurrencyLimit(slots: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next one waiting, so none can slip in between.
    if (running >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

const XFADE: Record<TimelineShot['transition'], string> = { cut: 'fade', fade: 'fade', wipe: 'wipeleft', slide: 'slideleft', zoom: 'zoomin' };

function pictureIdentity(picture: PictureLayer): unknown {
  // The shot holds pictures only (its sound goes to the audio lane), so hasAudio is not part of it.
  if (picture.type === 'video') return { type: 'video', sha256: picture.sha256, in: picture.in, width: picture.width, height: picture.height };
  if (picture.type === 'image') return { type: 'image', sha256: picture.sha256 };
  return picture;
}

function shotParts(dir: string, shot: TimelineShot): ShotParts {
  return {
    dir,
    head: shot.transitionFrames > 0 ? path.join(dir, 'head.mp4') : undefined,
    body: path.join(dir, 'body.mp4'),
    tail: shot.handleFrames > 0 ? path.join(dir, 'tail.mp4') : undefined,
  };
}

/** The encoder settings every part shares, so the stitch can copy them end to end. */
function videoEncoding(timeline: Timeline): string[] {
  // High: superfast CRF 23 measured the same SSIM (0.991) and +0.5 dB PSNR as veryfast CRF 20 for 39 % less
  // encoder CPU, at 1.27× the bytes, on a 1080×1920 shot (benchmarks/studio-encoder-presets.ts).
  const quality = timeline.quality === 'preview' ? ['-preset', 'ultrafast', '-crf', '28'] : ['-preset', 'superfast', '-crf', '23', '-profile:v', 'high'];
  return [
    ...['-c:v', 'libx264', ...quality, '-pix_fmt', 'yuv420p', '-bf', '0', '-g', String(timeline.fps * 2), '-r', String(timeline.fps)],
    ...['-an', '-map_metadata', '-1', '-video_track_timescale', '90000', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-f', 'mp4'],
  ];
}

/** A follow-face crop: its size, first position and the sendcmd file moving it frame by frame. */
interface FollowCrop {
  commands: string;
  width: number;
  height: number;
  x: number;
  y: number;
}

/** The shot's picture at the output size and rate, exactly `totalFrames` long, camera move applied. */
function pictureFilter(timeline: Timeline, shot: TimelineShot, seconds: number, totalFrames: number, follow?: FollowCrop): { inputArgs: string[]; filter: string } {
  const { width, height, fps } = timeline;
  const picture = shot.picture;
  const length = seconds.toFixed(6);
  let inputArgs: string[];
  if (picture.type === 'video') inputArgs = [...previewDecoding(timeline), '-ss', picture.in.toFixed(6), '-t', length, '-i', picture.file];
  else if (picture.type === 'image') inputArgs = ['-loop', '1', '-framerate', String(fps), '-t', length, '-i', picture.file];
  else inputArgs = ['-f', 'lavfi', '-i', `color=c=${picture.background}:s=${width}x${height}:r=${fps}:d=${length}`];
  const steps = ['setpts=PTS-STARTPTS', `fps=${fps}`];
  if (follow) steps.push(`sendcmd=f=${filterPath(follow.commands)}`, `crop@follow=w=${follow.width}:h=${follow.height}:x=${follow.x}:y=${follow.y}`);
  else if (picture.type !== 'title') steps.push(coverCropFilter(timeline));
  steps.push(cameraStep(timeline, shot, totalFrames));
  return { inputArgs, filter: [...steps, ...exactLength(totalFrames)].join(',') };
}

/**
 * A preview's source decoder skips H.264's deblocking filter (about a fifth of a 720p decode's CPU;
 * its edges are invisible once scaled to 360 px) and runs on one thread (shots already decode side by
 * side on every core, and frame threads only add their hand-offs). High renders decode as before.
 */
function previewDecoding(timeline: Timeline): string[] {
  return timeline.quality === 'preview' ? ['-threads', '1', '-skip_loop_filter', 'all'] : [];
}

/** Cover: the largest box of the output's aspect, centred (the camera then moves inside it). */
function coverCropFilter(timeline: Timeline): string {
  const ratio = `${timeline.width}/${timeline.height}`;
  return `crop=w='trunc(if(gt(iw/ih,${ratio}),ih*${ratio},iw)/2)*2':h='trunc(if(gt(iw/ih,${ratio}),ih,iw/(${ratio}))/2)*2'`;
}

/** The camera move (or a plain scale) from the cover box to the output size. */
function cameraStep(timeline: Timeline, shot: TimelineShot, totalFrames: number): string {
  const { width, height, fps } = timeline;
  const last = Math.max(1, totalFrames - 1);
  const move: Partial<Record<TimelineShot['camera'], string>> = {
    'push-in': `zoompan=z='1+${MOVE_ZOOM}*on/${last}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'`,
    'pull-out': `zoompan=z='${1 + MOVE_ZOOM}-${MOVE_ZOOM}*on/${last}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'`,
    'pan-left': `zoompan=z='${1 + MOVE_ZOOM}':x='(iw-iw/zoom)*(1-on/${last})':y='ih/2-ih/zoom/2'`,
    'pan-right': `zoompan=z='${1 + MOVE_ZOOM}':x='(iw-iw/zoom)*on/${last}':y='ih/2-ih/zoom/2'`,
  };
  const camera = move[shot.camera];
  return camera ? `${camera}:d=1:s=${width}x${height}:fps=${fps}` : `scale=${width}:${height}:flags=bicubic`;
}

/** Square pixels, I420, exactly `totalFrames` (a source shorter than the shot holds its last picture rather than ending the shot early). */
function exactLength(totalFrames: number): string[] {
  return ['setsar=1', 'format=yuv420p', `tpad=stop_mode=clone:stop=${totalFrames}`, `trim=end_frame=${totalFrames}`, 'setpts=PTS-STARTPTS'];
}

/**
 * A clip's pictures for a per-pixel look, before the camera move: the cover box at the source's own
 * size, or scaled down to what the output can show (with room for the camera's zoom), never up.
 * `camera` is the rest of the picture, run by the encoder after the look.
 */
function sourceWorkFrame(timeline: Timeline, shot: TimelineShot): { width: number; height: number; filter: string; camera: string } | undefined {
  const picture = shot.picture;
  if (picture.type !== 'video') return undefined;
  const { width, height, fps } = timeline;
  const wider = picture.width / picture.height > width / height;
  const cover = { width: wider ? even((picture.height * width) / height) : even(picture.width), height: wider ? even(picture.height) : even(picture.width / (width / height)) };
  const room = shot.camera === 'static' ? 1 : 1 + MOVE_ZOOM;
  const fit = Math.min(1, (width * room) / cover.width, (height * room) / cover.height);
  const work = fit === 1 ? cover : { width: Math.max(2, even(cover.width * fit)), height: Math.max(2, even(cover.height * fit)) };
  const totalFrames = shot.frames + shot.handleFrames;
  const filter = [
    'setpts=PTS-STARTPTS',
    `fps=${fps}`,
    coverCropFilter(timeline),
    // Also pins the frame size the look pass reads, whatever the decoder's idea of the source's size.
    `scale=${work.width}:${work.height}:flags=bicubic`,
    ...exactLength(totalFrames),
  ].join(',');
  return { ...work, filter, camera: `${cameraStep(timeline, shot, totalFrames)},setsar=1,format=yuv420p` };
}

const even = (value: number): number => Math.trunc(value / 2) * 2;

/** The shot's frames split into head (under the incoming transition), body and tail handle, each its own file. */
function splitOutputs(shot: TimelineShot, dir: string, timeline: Timeline): { filter: string; args: string[] } {
  const pieces: { label: string; from: number; to: number; file: string }[] = [];
  if (shot.transitionFrames > 0) pieces.push({ label: 'head', from: 0, to: shot.transitionFrames, file: 'head.mp4' });
  pieces.push({ label: 'body', from: shot.transitionFrames, to: shot.frames, file: 'body.mp4' });
  if (shot.handleFrames > 0) pieces.push({ label: 'tail', from: shot.frames, to: shot.frames + shot.handleFrames, file: 'tail.mp4' });
  const split = pieces.length > 1 ? `split=${pieces.length}${pieces.map((piece) => `[${piece.label}in]`).join('')};` : `null[${pieces[0]!.label}in];`;
  const trims = pieces.map((piece) => `[${piece.label}in]trim=start_frame=${piece.from}:end_frame=${piece.to},setpts=PTS-STARTPTS[${piece.label}]`).join(';');
  return { filter: `${split}${trims}`, args: pieces.flatMap((piece) => ['-map', `[${piece.label}]`, ...videoEncoding(timeline), path.join(dir, piece.file)]) };
}

/** drawtext filters for the shot's text and caption layers (text goes through files: no escaping). */
async function overlayFilters(timeline: Timeline, shot: TimelineShot, textDir: string): Promise<string> {
  const filters: string[] = [];
  const base = Math.min(timeline.width, timeline.height);
  let fileIndex = 0;
  const textFile = async (text: string): Promise<string> => {
    const file = path.join(textDir, `text-${fileIndex++}.txt`);
    await writeFile(file, text);
    return filterPath(file);
  };
  for (const layer of shot.overlays) {
    if (layer.type === 'text') {
      const centre = layer.placement === 'center';
      const size = Math.round(base * (centre ? 0.085 : 0.055));
      const lines = wrap(layer.text, Math.max(8, Math.floor((timeline.width * 0.86) / (size * 0.58))));
      const lineHeight = Math.round(size * 1.3);
      const top = centre ? Math.round(timeline.height / 2 - (lines.length * lineHeight) / 2) : Math.round(timeline.height * 0.68);
      for (const [index, line] of lines.entries()) {
        const box = centre ? 'shadowcolor=black@0.6:shadowx=2:shadowy=2' : `box=1:boxcolor=black@0.55:boxborderw=${Math.round(size * 0.3)}`;
        filters.push(`drawtext=fontfile=${centre ? FONT_BOLD : FONT}:textfile=${await textFile(line)}:fontsize=${size}:fontcolor=white:${box}:x=(w-text_w)/2:y=${top + index * lineHeight}`);
      }
    } else {
      const size = Math.round(base * 0.05);
      const y = Math.round(timeline.height * (timeline.height > timeline.width ? 0.8 : 0.86));
      for (const state of captionStates(layer, timeline, shot)) {
        filters.push(`drawtext=fontfile=${FONT_BOLD}:textfile=${await textFile(state.text)}:fontsize=${size}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=${Math.round(size * 0.25)}:x=(w-text_w)/2:y=${y}:enable='between(t,${state.from.toFixed(3)},${state.to.toFixed(3)})'`);
      }
    }
  }
  return filters.join(',');
}

interface CaptionState {
  /** Shot-local seconds. */
  from: number;
  to: number;
  text: string;
}

/** Word-by-word captions: each group of words grows one word at a time, as each is spoken. */
function captionStates(layer: Extract<OverlayLayer, { type: 'caption' }>, timeline: Timeline, shot: TimelineShot): CaptionState[] {
  if (shot.picture.type !== 'video') return [];
  const origin = shot.picture.in;
  const shotS = shot.frames / timeline.fps;
  const groups: TimedWord[][] = [];
  for (const word of layer.words) {
    const group = groups.at(-1);
    if (group && group.length < CAPTION_WORDS && word.t - group.at(-1)!.end <= CAPTION_PAUSE_S) group.push(word);
    else groups.push([word]);
  }
  const states: CaptionState[] = [];
  groups.forEach((group, groupIndex) => {
    const nextGroupStart = groups[groupIndex + 1]?.[0]?.t;
    const groupEnd = Math.min(group.at(-1)!.end + 0.4, nextGroupStart ?? Infinity);
    group.forEach((word, index) => {
      const from = Math.max(0, word.t - origin);
      const to = Math.min(shotS, (index + 1 < group.length ? group[index + 1]!.t : groupEnd) - origin);
      if (to > from) states.push({ from, to, text: group.slice(0, index + 1).map((item) => item.word).join(' ') });
    });
  });
  return states;
}

/** Every caption state on the output's clock, for the WebVTT sidecar. */
function captionCues(timeline: Timeline): CaptionState[] {
  return timeline.shots.flatMap((shot) =>
    shot.overlays.flatMap((layer) => (layer.type === 'caption' ? captionStates(layer, timeline, shot).map((state) => ({ ...state, from: state.from + shot.startFrame / timeline.fps, to: state.to + shot.startFrame / timeline.fps })) : [])),
  );
}

function webVtt(cues: CaptionState[]): string {
  const stamp = (seconds: number): string => {
    const ms = Math.round(seconds * 1000);
    const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
    return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
  };
  return `WEBVTT\n\n${cues.map((cue, index) => `${index + 1}\n${stamp(cue.from)} --> ${stamp(cue.to)}\n${cue.text}\n`).join('\n')}`;
}

/** Greedy word wrap at `width` characters (a word longer than a line gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(line);
  }
  return lines.slice(0, 4);
}
