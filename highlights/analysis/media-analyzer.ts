import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { FfmpegError, type ProcessRunner } from '../../core/process/process-runner.js';
import type { LiveSignalAnalysis } from './live-signal-analysis.js';

/** Bumped whenever what the analysis computes changes, so old caches are ignored. */
export const ANALYSIS_VERSION = 2;
/** Longer media is analysed from keyframes only (`-skip_frame nokey`): a full decode of an hour of 720p takes minutes on 2 cores. */
const FULL_DECODE_MAX_S = 600;

const intervalSchema = z.tuple([z.number(), z.number()]);

export const mediaAnalysisSchema = z.object({
  version: z.literal(ANALYSIS_VERSION),
  /** size:mtime of the analysed file: a changed file is analysed again. */
  key: z.string(),
  sha256: z.string(),
  durationS: z.number(),
  hasAudio: z.boolean(),
  /** `full` decoded every frame; `keyframes` only the keyframes (cut times then fall on keyframes). */
  decode: z.enum(['full', 'keyframes']),
  keyframes: z.array(z.number()),
  sceneCuts: z.array(z.object({ t: z.number(), score: z.number() })),
  silences: z.array(intervalSchema),
  stills: z.array(intervalSchema),
  elapsedMs: z.number(),
  /** Where cuts, stills and silence came from: the recording's live `signal` events, ffmpeg's detect filters, or both (one source each). */
  source: z.enum(['live-signals', 'ffmpeg', 'live-signals+ffmpeg']),
});

export type MediaAnalysis = z.infer<typeof mediaAnalysisSchema>;

/**
 * What ffmpeg can tell about a recording's media: keyframe times (for stream-copy cuts), scene cuts
 * (`scdet`), silence (`silencedetect`) and still picture (`freezedetect`). The audio and video passes run
 * in parallel, each with the other stream disabled, on a 160 px wide picture; the result is cached as
 * JSON beside the media and reused while the file's size and mtime are unchanged.
 */
export class MediaAnalyzer {
  static readonly CACHE_SUFFIX = '.highlights-analysis.json';

  constructor(private readonly runner: ProcessRunner) {}

  /**
   * `live`: what the recording's stored live signals say; a source they cover (video: cuts and stills,
   * audio: silence) is not decoded again.
   */
  async analyse(file: string, signal?: AbortSignal, live?: LiveSignalAnalysis): Promise<MediaAnalysis> {
    const info = await stat(file);
    const key = `${info.size}:${Math.round(info.mtimeMs)}`;
    const cacheFile = `${file}${MediaAnalyzer.CACHE_SUFFIX}`;
    const cached = await readFile(cacheFile, 'utf8')
      .then((text) => mediaAnalysisSchema.safeParse(JSON.parse(text)))
      .catch(() => undefined);
    const liveVideo = live?.video ?? null;
    const liveAudio = live?.audio ?? null;
    if (cached?.success && cached.data.key === key && cached.data.source === sourceOf(liveVideo !== null, liveAudio !== null, cached.data.hasAudio)) return cached.data;

    const started = performance.now();
    const { durationS, hasAudio } = await this.probeFormat(file, signal);
    const decode = durationS > FULL_DECODE_MAX_S ? 'keyframes' : 'full';
    const [keyframes, video, silences, sha256] = await Promise.all([
      this.keyframes(file, signal),
      liveVideo ?? this.videoPass(file, decode, durationS, signal),
      !hasAudio ? Promise.resolve([] as [number, number][]) : liveAudio ? liveAudio.silences : this.silences(file, durationS, signal),
      sha256Of(file),
    ]);
    const analysis: MediaAnalysis = {
      version: ANALYSIS_VERSION,
      key,
      sha256,
      durationS,
      hasAudio,
      decode,
      keyframes,
      sceneCuts: video.sceneCuts,
      silences,
      stills: video.stills,
      elapsedMs: Math.round(performance.now() - started),
      source: sourceOf(liveVideo !== null, liveAudio !== null, hasAudio),
    };
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(analysis));
    await rename(temporary, cacheFile);
    return analysis;
  }

  /** Duration and whether there is audio, from one ffprobe run. */
  private async probeFormat(file: string, signal?: AbortSignal): Promise<{ durationS: number; hasAudio: boolean }> {
    const out = await this.runner.probe(['-show_entries', 'format=duration:stream=codec_type', '-of', 'json', file], signal, { stage: 'analysing (probe)' });
    const parsed = JSON.parse(out) as { format?: { duration?: string }; streams?: { codec_type?: string }[] };
    const durationS = Number(parsed.format?.duration);
    if (!Number.isFinite(durationS)) throw new FfmpegError(`ffprobe found no duration in ${file}`);
    return { durationS, hasAudio: (parsed.streams ?? []).some((stream) => stream.codec_type === 'audio') };
  }

  /** Video keyframe times from packet flags (no decoding). */
  private async keyframes(file: string, signal?: AbortSignal): Promise<number[]> {
    const out = await this.runner.probe(['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file], signal, { stage: 'analysing (keyframes)' });
    const times: number[] = [];
    for (const line of out.split('\n')) {
      const [time, flags] = line.split(',');
      if (flags?.startsWith('K') && time && time !== 'N/A') times.push(round3(Number(time)));
    }
    return times.sort((a, b) => a - b);
  }

  private async videoPass(file: string, decode: 'full' | 'keyframes', durationS: number, signal?: AbortSignal): Promise<{ sceneCuts: { t: number; score: number }[]; stills: [number, number][] }> {
    const args = ['-nostats', ...(decode === 'keyframes' ? ['-skip_frame', 'nokey'] : []), '-an', '-sn', '-i', file];
    // Keyframes lie ~1 s apart, so "still" needs at least two of them alike.
    const freezeS = decode === 'keyframes' ? 1.5 : 1;
    args.push('-vf', `scale=160:-2,scdet=t=10,freezedetect=n=0.003:d=${freezeS}`, '-f', 'null', '-');
    const log = await this.runner.ffmpegRun(args, signal, { stage: 'analysing (scene cuts, still picture)', inputS: decode === 'keyframes' ? durationS : durationS * 2 });
    const sceneCuts: { t: number; score: number }[] = [];
    const stills: [number, number][] = [];
    let freezeStart: number | undefined;
    for (const line of log.split('\n')) {
      const cut = /lavfi\.scd\.score: ([\d.]+), lavfi\.scd\.time: ([\d.]+)/.exec(line);
      if (cut) sceneCuts.push({ t: round3(Number(cut[2])), score: round3(Number(cut[1])) });
      const start = /freeze_start: ([\d.]+)/.exec(line);
      if (start) freezeStart = Number(start[1]);
      const end = /freeze_end: ([\d.]+)/.exec(line);
      if (end && freezeStart !== undefined) {
        stills.push([round3(freezeStart), round3(Number(end[1]))]);
        freezeStart = undefined;
      }
    }
    if (freezeStart !== undefined) stills.push([round3(freezeStart), round3(durationS)]);
    return { sceneCuts, stills };
  }

  private async silences(file: string, durationS: number, signal?: AbortSignal): Promise<[number, number][]> {
    const log = await this.runner.ffmpegRun(['-nostats', '-vn', '-sn', '-i', file, '-af', 'silencedetect=n=-45dB:d=0.8', '-f', 'null', '-'], signal, { stage: 'analysing (silence)', inputS: durationS });
    const silences: [number, number][] = [];
    let silenceStart: number | undefined;
    for (const line of log.split('\n')) {
      const start = /silence_start: (-?[\d.]+)/.exec(line);
      if (start) silenceStart = Math.max(0, Number(start[1]));
      const end = /silence_end: ([\d.]+)/.exec(line);
      if (end && silenceStart !== undefined) {
        silences.push([round3(silenceStart), round3(Number(end[1]))]);
        silenceStart = undefined;
      }
    }
    if (silenceStart !== undefined) silences.push([round3(silenceStart), round3(durationS)]);
    return silences;
  }
}

function sourceOf(liveVideo: boolean, liveAudio: boolean, hasAudio: boolean): MediaAnalysis['source'] {
  const fromLive = liveVideo && (liveAudio || !hasAudio);
  if (fromLive) return 'live-signals';
  return liveVideo || liveAudio ? 'live-signals+ffmpeg' : 'ffmpeg';
}

export function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
