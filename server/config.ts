import path from 'node:path';
import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

/** An optional numeric setting: unset or empty means off. */
function optionalNumber(schema: z.ZodType<number>) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
}

/** The one configuration schema of livefx: every setting comes from an environment variable with a default. */
export const configSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  LIVEFX_DATA_DIR: z.string().min(1).default('./data'),
  /** Base URL of a running server, used by CLI commands; empty means they work on LIVEFX_DATA_DIR directly. */
  LIVEFX_URL: z.string().url().optional(),
  LIVEFX_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LIVEFX_FFMPEG: z.string().min(1).default('ffmpeg'),
  /** ffprobe, which crash recovery uses to read segments left behind. */
  LIVEFX_FFPROBE: z.string().min(1).default('ffprobe'),
  /** Extra host addresses offered as ICE candidates besides loopback (comma separated). */
  LIVEFX_ICE_HOSTS: z.string().default(''),
  /** UDP port range for WebRTC media, "min-max"; empty lets the OS choose. */
  LIVEFX_RTC_PORTS: z
    .string()
    .regex(/^(\d+-\d+)?$/, 'expected "min-max", e.g. 40000-40999')
    .default(''),
  /** Bitrate the publisher is allowed to send (kbit/s), announced by REMB and in the SDP answer. */
  LIVEFX_MAX_PUBLISH_KBPS: z.coerce.number().int().min(100).max(50_000).default(2500),
  /** Bitrate of the processed H.264 stream sent to viewers (kbit/s). */
  LIVEFX_OUTPUT_KBPS: z.coerce.number().int().min(100).max(50_000).default(2500),
  /** Keyframe interval of the processed stream in seconds (also the HLS segment length). */
  LIVEFX_KEYFRAME_INTERVAL_S: z.coerce.number().min(0.5).max(10).default(1),
  LIVEFX_HLS_SEGMENT_S: z.coerce.number().min(0.5).max(10).default(1),
  LIVEFX_HLS_LIST_SIZE: z.coerce.number().int().min(2).max(100).default(6),
  /** Burn the frame-counter code into every processed frame (the latency probe the pages read back). */
  LIVEFX_BURN_IN: booleanFromEnv.default(true),
  /** Longest recording segment (seconds): what a crash can lose at most. */
  LIVEFX_RECORD_SEGMENT_S: z.coerce.number().min(1).max(10).default(4),
  /** Free space (MB) the recordings folder's disk must keep: below it recording stops, the stream goes on. 0: no floor. */
  LIVEFX_RECORD_MIN_FREE_MB: z.coerce.number().int('must be a whole number of MB').min(0, 'must be 0 (no floor) or more MB').default(1024),
  /** How often free space is checked (seconds). */
  LIVEFX_RECORD_DISK_CHECK_S: z.coerce.number().min(0.1, 'must be at least 0.1 s').max(600, 'must be at most 600 s').default(5),
  /** Delete finished recordings that ended more than this many days ago; unset: keep forever. */
  LIVEFX_RETENTION_DAYS: optionalNumber(z.coerce.number().positive('must be a positive number of days')),
  /** Keep all recordings under this many GB (GiB), deleting the oldest finished ones first; unset: no size limit. */
  LIVEFX_RETENTION_MAX_GB: optionalNumber(z.coerce.number().positive('must be a positive number of GB')),
  /** Largest media file POST /v1/recordings and `livefx import` take (MB). */
  LIVEFX_IMPORT_MAX_MB: z.coerce.number().positive('must be a positive number of MB').default(8192),
  /** Highlights jobs (POST /v1/video/highlights) that run at once; each runs ffmpeg children. */
  LIVEFX_HIGHLIGHT_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  /** A highlights ffmpeg child with no progress for this long (plus 0.02 s per second of its input) is killed and its job fails. */
  LIVEFX_HIGHLIGHT_STALL_S: z.coerce.number().min(1).max(3600).default(30),
  /** `livefx highlights` with LIVEFX_URL gives up when the server's job shows no progress change for this long. */
  LIVEFX_HIGHLIGHT_POLL_STALL_S: z.coerce.number().min(1).max(86400).default(600),
  /** Live captions through an external speech engine (the command contract in transforms/subtitles/README.md), e.g. "whisper-bridge --model small"; empty: PocketSphinx in-process. */
  LIVEFX_ASR_COMMAND: z.string().default(''),
  /** Seconds without media before a live stream counts as ended. */
  LIVEFX_MEDIA_TIMEOUT_S: z.coerce.number().min(1).max(120).default(5),
  /** Most frame intervals an ffmpeg restart may wait before it gives up (restart backoff ceiling, ms). */
  LIVEFX_RESTART_BACKOFF_MAX_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
});

export type LivefxConfig = Omit<z.infer<typeof configSchema>, 'LIVEFX_DATA_DIR'> & { LIVEFX_DATA_DIR: string };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the configuration once at start-up; a bad value throws a ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LivefxConfig {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return { ...result.data, LIVEFX_DATA_DIR: path.resolve(result.data.LIVEFX_DATA_DIR) };
}
