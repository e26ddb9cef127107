import path from 'node:path';
import { z } from 'zod';
import { FfmpegError, type ProcessRunner } from '../process/process-runner.js';

/** Why ffprobe could not tell what a file holds; `reasons` are its stderr lines without the file's path, for callers that word their own message. */
export class MediaProbeError extends Error {
  override readonly name = 'MediaProbeError';
  constructor(
    message: string,
    readonly file: string,
    readonly reasons: readonly string[] = [],
    /** ffprobe itself could not be run. */
    readonly startFailed = false,
  ) {
    super(message);
  }
}

/** A frame rate as ffmpeg writes it (`30000/1001`). */
export interface FrameRate {
  num: number;
  den: number;
}

export interface StillImageInfo {
  kind: 'image';
  format: 'png' | 'jpeg';
  width: number;
  height: number;
  /** ffmpeg's name for the decoded pixels (rgb24, rgba, gray, yuvj420p, …). */
  pixelFormat: string;
  hasAlpha: boolean;
}

export interface VideoInfo {
  kind: 'video';
  width: number;
  height: number;
  frameRate: FrameRate;
  /** From the container's frame count, or duration × rate; undefined when neither is known. */
  totalFrames: number | undefined;
  /** The first audio stream, if any. */
  audio: { codec: string; startS: number } | undefined;
  videoStartS: number;
  /** Colour tags to carry to the output (BT.709 for HD, …); undefined when the input has none. */
  color: { space?: string; primaries?: string; transfer?: string };
}

export type MediaInfo = StillImageInfo | VideoInfo;

export interface ProbedSegment {
  /** Session seconds of the first and last packet (video or audio), from the file's own timestamps. */
  startS: number;
  endS: number;
  packets: number;
  videoCodec: string | undefined;
}

const numberString = z.string().regex(/^-?\d+(\.\d+)?$/).transform(Number);

const streamSchema = z.object({
  codec_type: z.string(),
  codec_name: z.string().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  pix_fmt: z.string().optional(),
  r_frame_rate: z.string().optional(),
  avg_frame_rate: z.string().optional(),
  nb_frames: numberString.optional().catch(undefined),
  nb_read_packets: numberString.optional().catch(undefined),
  duration: numberString.optional().catch(undefined),
  start_time: numberString.optional().catch(undefined),
  color_space: z.string().optional(),
  color_primaries: z.string().optional(),
  color_transfer: z.string().optional(),
  disposition: z.object({ attached_pic: z.number().optional() }).optional(),
  side_data_list: z.array(z.object({ rotation: z.number().optional() })).optional(),
});

const containerSchema = z.object({
  streams: z.array(streamSchema).default([]),
  format: z.object({ format_name: z.string(), duration: numberString.optional().catch(undefined) }),
});

/** What ffprobe's `-show_format -show_streams` says of a file (the fields livefx reads). */
export type ProbedContainer = z.infer<typeof containerSchema>;
export type ProbedStream = z.infer<typeof streamSchema>;

const packetsSchema = z.object({
  packets: z.array(z.object({ pts_time: z.string().optional(), duration_time: z.string().optional() })).default([]),
  streams: z.array(z.object({ codec_type: z.string().optional(), codec_name: z.string().optional() })).default([]),
});

/** Container formats ffmpeg gives single still pictures. */
const STILL_FORMATS = new Set(['image2', 'png_pipe', 'jpeg_pipe', 'mjpeg']);
const ALPHA_PIXEL_FORMATS = /^(rgba|bgra|argb|abgr|ya8|ya16|rgba64|bgra64|yuva|gbrap)/;

/** ffprobe lives beside ffmpeg: `/opt/ffmpeg/bin/ffmpeg` → `/opt/ffmpeg/bin/ffprobe`, `ffmpeg` → `ffprobe`. */
export function ffprobeBeside(ffmpegPath: string): string {
  const base = path.basename(ffmpegPath);
  const probe = base.replace(/ffmpeg/, 'ffprobe');
  if (probe === base) return 'ffprobe';
  return ffmpegPath.includes('/') ? path.join(path.dirname(ffmpegPath), probe) : probe;
}

export interface MediaProbeOptions {
  /** Runs the ffprobe children (its `ffprobe` path, watchdog and death-with-parent). */
  runner: ProcessRunner;
}

/**
 * The one place livefx asks ffprobe what a media file holds: `container` (format and streams, for
 * imports), `describe` (still image or video, size, rate, colour: the CLI render), `packets` (first and
 * last packet times of a recorder segment, for crash recovery). Every failure is a MediaProbeError.
 */
export class MediaProbe {
  private readonly runner: ProcessRunner;

  constructor(options: MediaProbeOptions) {
    this.runner = options.runner;
  }

  /** Format and streams of a file. */
  async container(file: string, signal?: AbortSignal): Promise<ProbedContainer> {
    const parsed = containerSchema.safeParse(await this.json(['-show_format', '-show_streams', file], file, signal));
    if (!parsed.success) throw new MediaProbeError(`ffprobe reported no format for ${file}`, file);
    return parsed.data;
  }

  /** Tells a still image from a video by what ffprobe finds in the file, never by its extension. */
  async describe(file: string, signal?: AbortSignal): Promise<MediaInfo> {
    const probed = await this.container(file, signal);
    const video = probed.streams.find((stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1);
    if (!video || !video.width || !video.height) throw new MediaProbeError(`${file} has no video stream (an image or a video is needed)`, file);
    const formats = probed.format.format_name.split(',');
    const still = formats.some((format) => STILL_FORMATS.has(format)) || formats.some((format) => format.endsWith('_pipe'));
    if (still && (await this.isSingleFrame(file, probed.format.format_name, video, signal))) {
      if (video.codec_name !== 'png' && video.codec_name !== 'mjpeg') {
        throw new MediaProbeError(`${file} is a ${video.codec_name ?? 'unknown'} image: only PNG and JPEG images (or videos) can be rendered`, file);
      }
      const pixelFormat = video.pix_fmt ?? 'rgb24';
      return { kind: 'image', format: video.codec_name === 'png' ? 'png' : 'jpeg', width: video.width, height: video.height, pixelFormat, hasAlpha: ALPHA_PIXEL_FORMATS.test(pixelFormat) };
    }
    const frameRate = pickFrameRate(video);
    // ffmpeg turns a rotated video upright when decoding, so the decoded size is the displayed one.
    const rotation = video.side_data_list?.find((data) => data.rotation !== undefined)?.rotation ?? 0;
    const quarterTurn = Math.abs(rotation) % 180 === 90;
    const durationS = video.duration ?? probed.format.duration;
    const totalFrames = video.nb_frames ?? (durationS !== undefined ? Math.round((durationS * frameRate.num) / frameRate.den) : undefined);
    const audio = probed.streams.find((stream) => stream.codec_type === 'audio');
    const color: VideoInfo['color'] = {};
    if (video.color_space && video.color_space !== 'unknown') color.space = video.color_space;
    if (video.color_primaries && video.color_primaries !== 'unknown') color.primaries = video.color_primaries;
    if (video.color_transfer && video.color_transfer !== 'unknown') color.transfer = video.color_transfer;
    return {
      kind: 'video',
      width: quarterTurn ? video.height : video.width,
      height: quarterTurn ? video.width : video.height,
      frameRate,
      totalFrames: totalFrames && totalFrames > 0 ? totalFrames : undefined,
      audio: audio ? { codec: audio.codec_name ?? 'unknown', startS: audio.start_time ?? 0 } : undefined,
      videoStartS: video.start_time ?? 0,
      color,
    };
  }

  /** Every packet's time in a (possibly truncated) media file; rejects when it holds none. */
  async packets(file: string, signal?: AbortSignal): Promise<ProbedSegment> {
    const parsed = packetsSchema.safeParse(await this.json(['-show_entries', 'packet=pts_time,duration_time:stream=codec_type,codec_name', file], file, signal));
    if (!parsed.success) throw new MediaProbeError(`ffprobe gave unreadable output for ${file}`, file);
    let startS = Infinity;
    let endS = -Infinity;
    let packets = 0;
    for (const packet of parsed.data.packets) {
      const pts = Number(packet.pts_time);
      if (!Number.isFinite(pts)) continue;
      packets++;
      startS = Math.min(startS, pts);
      endS = Math.max(endS, pts + (Number(packet.duration_time) || 0));
    }
    if (packets === 0) throw new MediaProbeError(`${file} holds no readable packets`, file);
    return { startS, endS, packets, videoCodec: parsed.data.streams.find((stream) => stream.codec_type === 'video')?.codec_name };
  }

  /** An image2/mjpeg input may hold one picture or a sequence; only counting tells. */
  private async isSingleFrame(file: string, formatName: string, video: ProbedStream, signal: AbortSignal | undefined): Promise<boolean> {
    if (formatName !== 'mjpeg') return video.nb_frames === undefined || video.nb_frames <= 1;
    const counted = containerSchema.safeParse(await this.json(['-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=codec_type,nb_read_packets:format=format_name', file], file, signal));
    return ((counted.success ? counted.data.streams[0]?.nb_read_packets : undefined) ?? 0) <= 1;
  }

  private async json(args: readonly string[], file: string, signal: AbortSignal | undefined): Promise<unknown> {
    let stdout: string;
    try {
      stdout = await this.runner.probe(['-of', 'json', ...args], signal, { stage: `probing ${path.basename(file)}` });
    } catch (error) {
      if (!(error instanceof FfmpegError)) throw error;
      if (error.startFailed) throw new MediaProbeError(error.message, file, [], true);
      // ffprobe names the file by its path and the demuxer in brackets: the caller knows which file it is.
      const reasons = [...new Set(error.stderr.split('\n').map((line) => line.replace(`${file}: `, '').replace(/^\[[^\]]+\]\s*/, '').trim()).filter(Boolean))];
      throw new MediaProbeError(`ffprobe could not read ${file}: ${reasons.at(-1) ?? error.message}`, file, reasons);
    }
    try {
      return JSON.parse(stdout) as unknown;
    } catch {
      throw new MediaProbeError(`ffprobe gave unreadable output for ${file}`, file);
    }
  }
}

function parseRate(text: string | undefined): FrameRate | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(text ?? '');
  if (!match) return undefined;
  const num = Number(match[1]);
  const den = Number(match[2]);
  return num > 0 && den > 0 ? { num, den } : undefined;
}

/** The stream's nominal rate, unless it is a timebase-like value (VFR inputs): then the average. */
function pickFrameRate(video: ProbedStream): FrameRate {
  const nominal = parseRate(video.r_frame_rate);
  const average = parseRate(video.avg_frame_rate);
  if (nominal && nominal.num / nominal.den <= 240) return nominal;
  if (average) return average;
  return nominal ?? { num: 25, den: 1 };
}
