// One error model for every surface: a domain error carries a stable machine-readable `code` (the
// same code means the same thing over HTTP and in socket.io acks) and the HTTP status it maps to.
// Routes and socket handlers just throw; one fastify error handler (server/http/error-handler.ts) and
// one ack helper (server/socket-errors.ts) render it as `{ error: { code, message } }` /
// `{ ok: false, error: { code, message } }`. A fault no client is told about (an ffmpeg that crashed,
// a failed migration, a bad config at start-up, an engine's own AsrError) stays a plain Error: it is
// logged and answered `internal_error`, so its details never leak.

/**
 * Every code a client can be sent, with the HTTP status it maps to. Documented in the README's
 * "Error codes" table (a test keeps the two in step); extend, never rename (outside integrations
 * match on them). Codes that only sockets send still have a status: the one they would have over HTTP.
 */
const CODE_STATUS = {
  // Requests that are malformed or name nothing.
  invalid_request: 400,
  invalid_query: 400,
  invalid_multipart: 400,
  invalid_sdp: 400,
  invalid_chain: 400,
  invalid_preset_name: 400,
  invalid_file_name: 400,
  invalid_events: 400,
  invalid_url: 400,
  malformed_request: 400,
  bad_request: 400,
  unknown_event: 400,
  not_found: 404,
  path_too_long: 414,
  headers_too_large: 431,
  request_timeout: 408,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  // Access control.
  unauthorized: 401,
  invalid_token: 401,
  link_expired: 401,
  token_revoked: 401,
  forbidden: 403,
  origin_not_allowed: 403,
  token_not_found: 404,
  // Limits.
  rate_limited: 429,
  payload_too_large: 413,
  file_too_large: 413,
  message_too_long: 413,
  too_many_streams: 503,
  too_many_viewers: 503,
  no_capacity: 503,
  shutting_down: 503,
  // Streams and signalling.
  stream_not_found: 404,
  session_not_found: 404,
  not_ready: 404,
  hls_wait_timeout: 503,
  stream_ended: 409,
  already_publishing: 409,
  not_live: 409,
  not_joined: 409,
  trickle_not_supported: 405,
  // Transform chains, presets and assets.
  lut_not_found: 400,
  image_not_found: 400,
  transform_not_found: 404,
  preset_not_found: 404,
  chain_rejected: 422,
  file_not_found: 404,
  file_exists: 409,
  invalid_lut: 422,
  invalid_image: 422,
  invalid_audio: 422,
  // Audience and moderation.
  banned: 403,
  muted: 403,
  message_not_found: 404,
  viewer_not_found: 404,
  not_muted: 404,
  not_banned: 404,
  // Recordings.
  recording_not_found: 404,
  media_not_found: 404,
  recording_in_progress: 409,
  missing_media: 400,
  invalid_media: 422,
  // Jobs (highlights, renders).
  job_not_found: 404,
  clip_not_found: 404,
  job_not_done: 409,
  no_approved_clips: 409,
  render_not_found: 404,
  queue_unavailable: 503,
  // Studio (storyboards, templates).
  storyboard_not_found: 404,
  template_not_found: 404,
  asset_not_found: 404,
  invalid_template: 422,
  idempotency_key_reused: 422,
  builtin_template: 409,
  missing_merge_field: 422,
  invalid_merge_value: 422,
  unknown_merge_field: 422,
  disk_floor: 507,
  render_failed: 500,
  // Shared state (LIVEFX_DATABASE_URL): the store cannot be reached; retry later.
  store_unavailable: 503,
  // Nodes (LIVEFX_REDIS_URL): the node registry and readiness.
  node_not_found: 404,
  node_not_ready: 503,
  owner_unreachable: 502,
  // Anything unexpected.
  internal_error: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof CODE_STATUS;

/** Every code a client can be sent. */
export const ERROR_CODES = Object.keys(CODE_STATUS) as readonly ErrorCode[];

/** The HTTP status a code is answered with. */
export function statusOf(code: ErrorCode): number {
  return CODE_STATUS[code];
}

export function isErrorCode(candidate: unknown): candidate is ErrorCode {
  return typeof candidate === 'string' && Object.hasOwn(CODE_STATUS, candidate);
}

export interface LivefxErrorOptions {
  /**
   * Only for throwers that already carry a status (kept so their call sites need no change); it must be
   * the code's status from the table above (test/error-model.test.ts checks every refusal).
   */
  httpStatus?: number;
  cause?: unknown;
  /** Extra fields a client may use (e.g. `{ field: 'title' }`); rendered beside code and message. */
  details?: Record<string, unknown>;
}

/** The base of every domain error: a code from ERROR_CODES, a message for people, an HTTP status. */
export class LivefxError extends Error {
  override name = 'LivefxError';
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: LivefxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.httpStatus = options.httpStatus ?? CODE_STATUS[code];
    this.details = options.details;
  }
}

export function isLivefxError(error: unknown): error is LivefxError {
  return error instanceof LivefxError;
}

export interface ErrorBody {
  error: { code: string; message: string } & Record<string, unknown>;
}

/** `{ error: { code, message } }`: the one shape of every refusal over HTTP. */
export function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, ...details } };
}

/** The body of any error: a LivefxError as it is, anything else as `internal_error` (its message is not leaked). */
export function toErrorBody(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof LivefxError) return { status: error.httpStatus, body: errorBody(error.code, error.message, error.details) };
  return { status: 500, body: errorBody('internal_error', 'internal error') };
}

/** The socket.io ack of a refusal: `{ ok: false, error: { code, message } }`. */
export function errorAck(error: unknown): { ok: false; error: ErrorBody['error'] } {
  return { ok: false, error: toErrorBody(error).body.error };
}
