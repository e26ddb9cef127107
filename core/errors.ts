// One error model for every surface: a domain error carries a stable machine-readable `code` (the
// same code means the same thing over HTTP, socket.io acks and the CLI) and the HTTP status it maps to.
// Routes and socket handlers just throw; one fastify error handler and one ack helper render it as
// `{ error: { code, message } }` / `{ ok: false, error: { code, message } }`.

/**
 * Every code a client can be sent. Documented in the README's API section; extend, never rename
 * (outside integrations match on them).
 */
export const ERROR_CODES = [
  // Requests that are malformed or name nothing.
  'invalid_request',
  'invalid_query',
  'invalid_multipart',
  'invalid_sdp',
  'invalid_chain',
  'invalid_preset_name',
  'invalid_file_name',
  'bad_request',
  'not_found',
  'unknown_event',
  // Access control.
  'unauthorized',
  'forbidden',
  'token_not_found',
  'token_revoked',
  // Limits.
  'rate_limited',
  'file_too_large',
  'message_too_long',
  'too_many_streams',
  'too_many_viewers',
  'shutting_down',
  // Streams and signalling.
  'stream_not_found',
  'stream_ended',
  'session_not_found',
  'already_publishing',
  'not_live',
  'not_ready',
  'trickle_not_supported',
  'not_joined',
  'lut_not_found',
  // Audience.
  'banned',
  'muted',
  // Recordings.
  'recording_not_found',
  'recording_in_progress',
  'media_not_found',
  'missing_media',
  'file_not_found',
  // Jobs (highlights, renders).
  'job_not_found',
  'job_not_done',
  'clip_not_found',
  'no_approved_clips',
  // Studio (storyboards, templates, renders).
  'storyboard_not_found',
  'render_not_found',
  'asset_not_found',
  'disk_floor',
  // Anything unexpected.
  'internal_error',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The HTTP status of a code when the thrower does not choose one. */
const DEFAULT_STATUS: Partial<Record<ErrorCode, number>> = {
  unauthorized: 401,
  forbidden: 403,
  banned: 403,
  muted: 403,
  token_revoked: 401,
  not_found: 404,
  stream_not_found: 404,
  session_not_found: 404,
  token_not_found: 404,
  lut_not_found: 404,
  recording_not_found: 404,
  media_not_found: 404,
  file_not_found: 404,
  job_not_found: 404,
  clip_not_found: 404,
  storyboard_not_found: 404,
  render_not_found: 404,
  asset_not_found: 404,
  disk_floor: 507,
  already_publishing: 409,
  recording_in_progress: 409,
  job_not_done: 409,
  not_live: 409,
  not_ready: 409,
  no_approved_clips: 409,
  stream_ended: 410,
  file_too_large: 413,
  message_too_long: 413,
  trickle_not_supported: 405,
  rate_limited: 429,
  too_many_streams: 503,
  too_many_viewers: 503,
  shutting_down: 503,
  internal_error: 500,
};

export interface LivefxErrorOptions {
  /** Overrides the code's default status (e.g. 422 for a well-formed request that names a bad value). */
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
    this.httpStatus = options.httpStatus ?? DEFAULT_STATUS[code] ?? 400;
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
