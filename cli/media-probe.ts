import { spawn } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import { CliError } from './cli-errors.js';

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

const probeSchema = z.object({
  streams: z.array(streamSchema).default([]),
  format: z.object({ format_name: z.string(), duration: numberString.optional().catch(undefined) }),
});

type ProbedStream = z.infer<typeof streamSchema>;

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

/** Tells a still image from a video by what ffprobe finds in the file, never by its extension. */
export async function probeMedia(ffprobePath: string, file: string): Promise<MediaInfo> {
  const probed = await runFfprobe(ffprobePath, ['-show_format', '-show_streams', file], file);
  const video = probed.streams.find((stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1);
  if (!video || !video.width || !video.height) throw new CliError(`${file} has no video stream (an image or a video is needed)`);
  const formats = probed.format.format_name.split(',');
  const still = formats.some((format) => STILL_FORMATS.has(format)) || formats.some((format) => format.endsWith('_pipe'));
  if (still && (await isSingleFrame(ffprobePath, file, probed.format.format_name, video))) {
    if (video.codec_name !== 'png' && video.codec_name !== 'mjpeg') {
      throw new CliError(`${file} is a ${video.codec_name ?? 'unknown'} image: only PNG and JPEG images (or videos) can be rendered`);
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

/** An image2/mjpeg input may hold one picture or a sequence; only counting tells. */
async function isSingleFrame(ffprobePath: string, file: string, formatName: string, video: ProbedStream): Promise<boolean> {
  if (formatName !== 'mjpeg') return video.nb_frames === undefined || video.nb_frames <= 1;
  const counted = await runFfprobe(ffprobePath, ['-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=codec_type,nb_read_packets:format=format_name', file], file);
  return (counted.streams[0]?.nb_read_packets ?? 0) <= 1;
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

function runFfprobe(ffprobePath: string, args: string[], file: string): Promise<z.infer<typeof probeSchema>> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffprobePath, ['-v', 'error', '-of', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-2048)));
    child.on('error', (error) => reject(new CliError(`could not run ffprobe (${ffprobePath}, taken from beside LIVEFX_FFMPEG): ${error.message}`)));
    child.on('close', (code) => {
      if (code !== 0) {
        const reason = stderr.trim().split('\n').pop()?.replace(`${file}: `, '') ?? `exit code ${code}`;
        reject(new CliError(`${file} is not a readable image or video (ffprobe: ${reason})`));
        return;
      }
      try {
        const result = probeSchema.safeParse(JSON.parse(stdout));
        if (result.success) resolve(result.data);
        else reject(new CliError(`${file} is not a readable image or video (ffprobe reported no format)`));
      } catch {
        reject(new CliError(`ffprobe gave no JSON for ${file}`));
      }
    });
  });
}
