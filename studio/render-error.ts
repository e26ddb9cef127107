import { isErrorCode, isLivefxError, type ErrorCode } from '../core/errors.js';

// A failed render's `error` is `{ code, message }` like every other API error. The job queue stores a
// failure as text, so the code travels in front of the message as `[code] `; renders stored before
// that (plain text) are read back with the code their message implies.

export interface RenderErrorView {
  code: ErrorCode;
  message: string;
}

const PREFIXED = /^\[([a-z_]+)\] ([\s\S]*)$/;

/** The failure as the queue should store it: the code of a LivefxError kept, anything else `render_failed`. */
export class RenderFailure extends Error {
  override readonly name = 'RenderFailure';
  readonly code: ErrorCode;
  readonly reason: string;

  constructor(error: unknown) {
    const code: ErrorCode = isLivefxError(error) ? error.code : 'render_failed';
    const reason = error instanceof Error ? error.message : String(error);
    super(`[${code}] ${reason}`, { cause: error });
    this.code = code;
    this.reason = reason;
  }
}

/** A stored failure text as `{ code, message }`; undefined for none. */
export function renderErrorView(stored: string | null | undefined): RenderErrorView | undefined {
  if (!stored) return undefined;
  const match = PREFIXED.exec(stored);
  if (match && isErrorCode(match[1])) return { code: match[1], message: match[2]! };
  // Written before codes were stored: only the disk floor had a code of its own.
  return { code: stored.includes('LIVEFX_STUDIO_MIN_FREE_MB') ? 'disk_floor' : 'render_failed', message: stored };
}

/** One line for people (CLI): the message and its code; tolerates the plain text an older server sends. */
export function describeRenderError(error: unknown): string {
  if (typeof error === 'string') return describeRenderError(renderErrorView(error));
  if (error && typeof error === 'object' && 'message' in error) {
    const { code, message } = error as { code?: unknown; message: unknown };
    return `${String(message)}${typeof code === 'string' ? ` (${code})` : ''}`;
  }
  return 'no reason given';
}
