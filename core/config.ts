import path from 'node:path';
import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

/** An optional numeric setting: unset or empty means off. */
function optionalNumber(schema: z.ZodType<number>) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
}

/** An optional text setting: unset or empty means off. */
function optionalString(schema: z.ZodType<string>) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
}

/**
 * A list of web origins ("https://site.example", comma separated) or `*` for any; empty: none.
 * Each entry is normalized to the form browsers send in `Origin` (scheme, host, port; no path).
 */
const originList = z.string().transform((value, context) => {
  const origins: string[] = [];
  for (const entry of value.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
    if (entry === '*') {
      origins.push(entry);
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '') {
      context.addIssue({ code: 'custom', message: `"${entry}" is not an origin: write scheme, host and port only (e.g. https://site.example or http://127.0.0.1:3000), or * for any` });
      return z.NEVER;
    }
    origins.push(url.origin);
  }
  return origins;
});

/** A UDP port range, "min-max", or empty (the OS chooses); the bounds are checked with the other settings below. */
const portRange = z
  .string()
  .regex(/^(\d+-\d+)?$/, 'expected "min-max", e.g. 40000-40999')
  .default('');

/** A port range setting as numbers, undefined when empty (the OS chooses). */
export function portRangeBounds(range: string): [number, number] | undefined {
  if (range === '') return undefined;
  const [min, max] = range.split('-').map(Number) as [number, number];
  return [min, max];
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
  LIVEFX_RTC_PORTS: portRange,
  /** The cluster guide's names for the two above: this node's UDP range, and the address it advertises (added to LIVEFX_ICE_HOSTS). */
  LIVEFX_UDP_PORTS: portRange,
  LIVEFX_PUBLIC_ADDRESS: z.string().default(''),
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
  /** Highlights jobs (POST /v1/video/highlights) that run at once; each runs ffmpeg children; more wait in the queue. */
  LIVEFX_HIGHLIGHT_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  /** Redis for the job queue (BullMQ) and the node registry, e.g. redis://127.0.0.1:6379; unset: jobs live in livefx.db and run in this process, and the server is alone. */
  LIVEFX_REDIS_URL: optionalString(z.string().regex(/^rediss?:\/\/\S+$/, 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379')),
  /** This node's id in the node registry (with LIVEFX_REDIS_URL); unset: the host name and a random suffix, new at each start. */
  LIVEFX_NODE_ID: optionalString(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'use 1-64 letters, digits, ".", "_" or "-"')),
  /** With LIVEFX_REDIS_URL: new streams are not placed on this node while its machine's CPU use (percent) is above this. */
  LIVEFX_CPU_LIMIT: z.coerce.number().min(1).max(100).default(90),
  /** With LIVEFX_REDIS_URL: viewers of a stream another node owns are "served" here (watch and embed pages, HLS fetched from the owner with segments cached) or "redirect"ed to the owner (pages and HLS); WHEP goes to the owner or a relay either way. */
  LIVEFX_CLUSTER_VIEWERS: z.enum(['serve', 'redirect']).default('serve'),
  /** With LIVEFX_CLUSTER_VIEWERS=serve: memory (MB) for other nodes' HLS segments and parts held here (they never change); least recently used go first. */
  LIVEFX_CLUSTER_HLS_CACHE_MB: z.coerce.number().min(0).max(4096).default(64),
  /** A draining node (SIGTERM with LIVEFX_REDIS_URL, or POST /v1/nodes/:id/drain) exits this many seconds after the drain began even if streams are still open. */
  LIVEFX_DRAIN_DEADLINE_S: z.coerce.number().min(0).max(7 * 86400).default(3600),
  /** Where jobs run with LIVEFX_REDIS_URL: "embedded" (this node works too) or "external" (only `livefx worker` processes do; the node enqueues). */
  LIVEFX_WORKERS: z.enum(['embedded', 'external']).default('embedded'),
  /** Tries per job on BullMQ (a failed try waits 2 s, 4 s, … before the next); a malformed payload or a cancel is never retried. */
  LIVEFX_JOB_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(2),
  /** How long a worker's lock on a job lasts without renewal (renewed every half of it): a killed worker's job runs elsewhere within about twice this. */
  LIVEFX_JOB_LOCK_S: z.coerce.number().min(1).max(600).default(6),
  /** A job's deadline is its enqueue time plus this (seconds): livefx_jobs_deadline_seconds reports the earliest one's distance. */
  LIVEFX_JOB_DEADLINE_S: z.coerce.number().min(1).max(7 * 86400).default(900),
  /** Size limit of the studio's shot cache ($LIVEFX_DATA_DIR/studio/cache, MB): least recently used shots are evicted above it. */
  LIVEFX_STUDIO_CACHE_MB: z.coerce.number().int('must be a whole number of MB').min(1, 'must be at least 1 MB').default(2048),
  /** Free space (MB) a studio render leaves on the data disk: below it the render fails before writing more. 0: no floor. */
  LIVEFX_STUDIO_MIN_FREE_MB: z.coerce.number().int('must be a whole number of MB').min(0, 'must be 0 (no floor) or more MB').default(512),
  // Limits (README "Limits"): each refusal names the variable that sets it.
  /** HTTP requests per second per client address (the burst is twice this); 0: no limit. HLS and /healthz, /metrics are counted apart. */
  LIVEFX_HTTP_RATE_PER_IP: z.coerce.number().min(0).default(100),
  /** HTTP requests per second per presented token (bearer or ?token=), whatever the address; 0: no limit. */
  LIVEFX_HTTP_RATE_PER_TOKEN: z.coerce.number().min(0).default(100),
  /** HLS playlist and segment fetches per second per client address (its own bucket, so players never starve); 0: no limit. */
  LIVEFX_HLS_RATE_PER_IP: z.coerce.number().min(0).default(300),
  /** Largest JSON (or other) HTTP request body (KB). */
  LIVEFX_HTTP_BODY_MAX_KB: z.coerce.number().int().min(1).max(1024 * 1024).default(1024),
  /** Largest SDP offer of WHIP/WHEP (KB); real browser offers are 3–10 KB. */
  LIVEFX_SDP_MAX_KB: z.coerce.number().int().min(4).max(1024).default(64),
  /** Largest `.cube` upload (MB). */
  LIVEFX_LUT_MAX_MB: z.coerce.number().int().min(1).max(1024).default(32),
  /** Largest logo image upload (MB). */
  LIVEFX_IMAGE_MAX_MB: z.coerce.number().int().min(1).max(1024).default(8),
  /** Largest studio music track upload (MB). */
  LIVEFX_MUSIC_MAX_MB: z.coerce.number().int().min(1).max(1024).default(50),
  /** socket.io messages per second per connection, on every namespace (the burst is twice this); 0: no limit. */
  LIVEFX_SOCKET_MESSAGES_PER_S: z.coerce.number().min(0).default(20),
  /** Largest socket.io message (KB); socket.io closes a connection that sends a larger one. */
  LIVEFX_SOCKET_MESSAGE_MAX_KB: z.coerce.number().int().min(1).max(16 * 1024).default(64),
  /** Streams that may exist at once (idle or live; ended ones do not count). */
  LIVEFX_MAX_STREAMS: z.coerce.number().int().min(1).default(16),
  /** WebRTC viewers this node serves at once (its own streams' and relayed ones); 0: no limit. With LIVEFX_REDIS_URL, viewers beyond it are relayed through other nodes. */
  LIVEFX_MAX_VIEWERS: z.coerce.number().int().min(0).default(0),
  /** A relay node keeps its subscription to the owner this many seconds after its last relayed viewer left (a returning viewer joins at once). */
  LIVEFX_RELAY_GRACE_S: z.coerce.number().min(0).max(3600).default(60),
  /** WebRTC (WHEP) viewers per stream, original and processed together. */
  LIVEFX_MAX_VIEWERS_PER_STREAM: z.coerce.number().int().min(1).default(200),
  /** Largest picture processed, "WIDTHxHEIGHT" (a portrait input is held to it turned sideways); larger input is scaled down. */
  LIVEFX_MAX_INPUT_RESOLUTION: z
    .string()
    .regex(/^\d+x\d+$/, 'expected "WIDTHxHEIGHT", e.g. 1920x1080')
    .refine((value) => value.split('x').every((side) => Number(side) >= 16 && Number(side) <= 8192), 'each side must be 16…8192 pixels')
    .default('1920x1080'),
  /** Most frames per second processed; frames above it are dropped after decoding. */
  LIVEFX_MAX_INPUT_FPS: z.coerce.number().min(1).max(240).default(60),
  /** Longest chat message (characters). */
  LIVEFX_CHAT_MAX_CHARS: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Chat messages a viewer may send in a burst. */
  LIVEFX_CHAT_BURST: z.coerce.number().int().min(1).max(1000).default(3),
  /** Chat messages per minute a viewer may send, sustained. */
  LIVEFX_CHAT_PER_MIN: z.coerce.number().positive().max(6000).default(30),
  /** Reactions per second a viewer may send (also the burst). */
  LIVEFX_REACTIONS_PER_S: z.coerce.number().positive().max(1000).default(10),
  /** A highlights ffmpeg child with no progress for this long (plus 0.02 s per second of its input) is killed and its job fails. */
  LIVEFX_HIGHLIGHT_STALL_S: z.coerce.number().min(1).max(3600).default(30),
  /** `livefx highlights` with LIVEFX_URL gives up when the server's job shows no progress change for this long. */
  LIVEFX_HIGHLIGHT_POLL_STALL_S: z.coerce.number().min(1).max(86400).default(600),
  /** Live captions through an external speech engine (the command contract in transforms/subtitles/README.md), e.g. "whisper-bridge --model small"; empty: PocketSphinx in-process. */
  LIVEFX_ASR_COMMAND: z.string().default(''),
  /** When the LIVEFX_ASR_COMMAND engine fails for good (cannot start, a non-retryable error): "pocketsphinx" takes over; "none": captions stop. */
  LIVEFX_ASR_FALLBACK: z.enum(['pocketsphinx', 'none']).default('pocketsphinx'),
  /** Where the transform kernels run: `webgpu` (WGSL on the GPU), `wasm` (WebAssembly SIMD), `js` (the TypeScript reference), `auto` (webgpu on a hardware GPU, else wasm when the runtime supports SIMD). */
  LIVEFX_TRANSFORM_BACKEND: z.enum(['auto', 'webgpu', 'wasm', 'js']).default('auto'),
  /** Fault injection for tests: each stream worker destroys its GPU device after this many frames on webgpu (a driver reset); 0: never. */
  LIVEFX_FAULT_GPU_LOSS_AFTER_FRAMES: z.coerce.number().int().min(0).default(0),
  /** Largest studio template a user may upload (PUT /v1/video/templates/:name), in KiB. */
  LIVEFX_TEMPLATE_MAX_KB: z.coerce.number().int().min(1).max(1024).default(64),
  /** Seconds without media before a live stream counts as ended; a shorter gap (a network interruption) is bridged in the same session. */
  LIVEFX_MEDIA_TIMEOUT_S: z.coerce.number().min(1).max(120).default(15),
  /** Most frame intervals an ffmpeg restart may wait before it gives up (restart backoff ceiling, ms). */
  LIVEFX_RESTART_BACKOFF_MAX_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** The admin's bearer token. Unset: one is generated into livefx.db on first start and printed once. Required to bind beyond loopback. */
  LIVEFX_ADMIN_TOKEN: optionalString(z.string().min(24, 'must be at least 24 characters (use e.g. `openssl rand -base64 32`)').max(512)),
  /** The token CLI commands send to LIVEFX_URL (an admin or operator token). */
  LIVEFX_TOKEN: optionalString(z.string().max(512)),
  /** How long a viewer link of a private stream stays valid by default (seconds; 24 h). */
  LIVEFX_VIEWER_LINK_TTL_S: z.coerce.number().int().min(60).max(365 * 86400).default(86400),
  /** PEM certificate and key files: both set serves HTTPS (browsers need a secure context for the camera off localhost). */
  LIVEFX_TLS_CERT: optionalString(z.string()),
  LIVEFX_TLS_KEY: optionalString(z.string()),
  /** postgres://user:password@host:port/database: tokens, presets, the recordings catalog and storyboards live there, shared by every node; unset: livefx.db (SQLite). */
  LIVEFX_DATABASE_URL: optionalString(
    z
      .string()
      .max(2048)
      .refine((value) => /^postgres(ql)?:\/\/[^\s]+$/.test(value) && URL.canParse(value), 'must be a postgres:// (or postgresql://) URL, e.g. postgres://livefx:secret@db.internal:5432/livefx'),
  ),
  /** This node's base URL as `livefx worker` processes on other machines reach it (e.g. http://node-1.internal:3000): jobs enqueued here carry it, so a worker reads their media from here and uploads their outputs here. Needs LIVEFX_INTERNAL_SECRET. */
  LIVEFX_NODE_URL: optionalString(z.string().url().refine((value) => /^https?:\/\//.test(value), 'must be an http:// or https:// URL').transform((value) => value.replace(/\/+$/, ''))),
  /** Shared by every node and worker (at least 24 characters): signs the short-lived tokens that let workers read job media from, and upload outputs to, a node. */
  LIVEFX_INTERNAL_SECRET: optionalString(z.string().min(24, 'must be at least 24 characters (use e.g. `openssl rand -base64 32`)').max(512)),
  /** How long a worker keeps retrying a node that cannot be reached (media download or output upload) before the job fails (seconds). */
  LIVEFX_MEDIA_RETRY_S: z.coerce.number().min(1).max(86400).default(300),
  /** Size limit of a worker's cache of media fetched from nodes ($LIVEFX_DATA_DIR/media-cache, MB): least recently used files are evicted above it. */
  LIVEFX_MEDIA_CACHE_MB: z.coerce.number().int('must be a whole number of MB').min(1, 'must be at least 1 MB').default(10240),
  /** Origins whose pages may call WHIP, WHEP and HLS (`*`: any; bearer tokens and signed links, never cookies); an origin listed by name may also call the /v1 API. */
  LIVEFX_CORS_ORIGINS: originList.default(['*']),
  /** Origins whose pages may frame the /embed player (`*`: any); every other page may be framed by none. */
  LIVEFX_EMBED_ORIGINS: originList.default(['*']),
});

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/i;

/** Whether HOST keeps the server on this machine (the only place an unconfigured admin token is acceptable). */
export const isLoopbackHost = (host: string): boolean => LOOPBACK.test(host.replace(/^\[|\]$/g, ''));

/** The checks that span settings: a public bind needs a configured admin token; TLS needs both files. */
const checkedSchema = configSchema.superRefine((config, context) => {
  if (!isLoopbackHost(config.HOST) && !config.LIVEFX_ADMIN_TOKEN) {
    context.addIssue({
      code: 'custom',
      path: ['HOST'],
      message: `binding to ${config.HOST} exposes livefx beyond this machine: set LIVEFX_ADMIN_TOKEN (at least 24 characters) first, or bind to 127.0.0.1`,
    });
  }
  if (config.LIVEFX_WORKERS === 'external' && !config.LIVEFX_REDIS_URL) {
    context.addIssue({ code: 'custom', path: ['LIVEFX_WORKERS'], message: '"external" workers take jobs from Redis: set LIVEFX_REDIS_URL too, or leave LIVEFX_WORKERS at "embedded"' });
  }
  if (config.LIVEFX_NODE_URL && !config.LIVEFX_INTERNAL_SECRET) {
    context.addIssue({ code: 'custom', path: ['LIVEFX_INTERNAL_SECRET'], message: 'LIVEFX_NODE_URL lets workers fetch media from this node: set LIVEFX_INTERNAL_SECRET (the same on every node and worker) too' });
  }
  if (config.LIVEFX_UDP_PORTS && config.LIVEFX_RTC_PORTS && config.LIVEFX_UDP_PORTS !== config.LIVEFX_RTC_PORTS) {
    context.addIssue({ code: 'custom', path: ['LIVEFX_UDP_PORTS'], message: `LIVEFX_UDP_PORTS (${config.LIVEFX_UDP_PORTS}) and LIVEFX_RTC_PORTS (${config.LIVEFX_RTC_PORTS}) are the same setting: set one of them` });
  }
  for (const name of ['LIVEFX_RTC_PORTS', 'LIVEFX_UDP_PORTS'] as const) {
    const bounds = portRangeBounds(config[name]);
    if (bounds && (bounds[0] < 1 || bounds[1] > 65535 || bounds[0] > bounds[1])) {
      context.addIssue({ code: 'custom', path: [name], message: `${config[name]} is not a port range: expected "min-max" with 1 ≤ min ≤ max ≤ 65535` });
    }
  }
  if ((config.LIVEFX_TLS_CERT === undefined) !== (config.LIVEFX_TLS_KEY === undefined)) {
    context.addIssue({ code: 'custom', path: [config.LIVEFX_TLS_CERT ? 'LIVEFX_TLS_KEY' : 'LIVEFX_TLS_CERT'], message: 'HTTPS needs both LIVEFX_TLS_CERT and LIVEFX_TLS_KEY' });
  }
});

export type LivefxConfig = Omit<z.infer<typeof configSchema>, 'LIVEFX_DATA_DIR'> & { LIVEFX_DATA_DIR: string };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the configuration once at start-up; a bad value throws a ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LivefxConfig {
  const result = checkedSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const config = result.data;
  return {
    ...config,
    LIVEFX_DATA_DIR: path.resolve(config.LIVEFX_DATA_DIR),
    LIVEFX_RTC_PORTS: config.LIVEFX_RTC_PORTS || config.LIVEFX_UDP_PORTS,
    LIVEFX_ICE_HOSTS: [config.LIVEFX_ICE_HOSTS, config.LIVEFX_PUBLIC_ADDRESS].filter((hosts) => hosts.trim() !== '').join(','),
  };
}

/** LIVEFX_MAX_INPUT_RESOLUTION as numbers. */
export function maxInputSize(config: Pick<LivefxConfig, 'LIVEFX_MAX_INPUT_RESOLUTION'>): { width: number; height: number } {
  const [width, height] = config.LIVEFX_MAX_INPUT_RESOLUTION.split('x').map(Number) as [number, number];
  return { width, height };
}
