import { LivefxError } from '../../core/errors.js';

/** @fastify/multipart's limit errors: a route words them for its form, else the error handler answers 413 `payload_too_large`. */
const LIMIT_CODES = new Set(['FST_REQ_FILE_TOO_LARGE', 'FST_PARTS_LIMIT', 'FST_FILES_LIMIT', 'FST_FIELDS_LIMIT']);

/**
 * What reading a multipart form threw, as the client's fault when it is: a missing boundary, a form
 * cut short in the middle of a part, a part stream closed early. Our own refusals, multipart limits
 * and file system errors (ENOSPC, …) pass through unchanged.
 */
export function asMultipartError(error: unknown): unknown {
  if (error instanceof LivefxError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (LIMIT_CODES.has(code) || /^E[A-Z]+$/.test(code))) return error;
  // Errors that know their status (fastify's, AssetError, ImportError) are already clear refusals.
  if (typeof (error as { statusCode?: unknown }).statusCode === 'number' || typeof (error as { httpStatus?: unknown }).httpStatus === 'number') return error;
  return new LivefxError('invalid_multipart', `the multipart form could not be read: ${error.message}`);
}

/** A file part whose stream was already closed when it was handed over: the form ended inside it (reading it would wait forever). */
export function assertPartReadable(file: NodeJS.ReadableStream & { destroyed?: boolean }, field: string): void {
  if (file.destroyed) throw new LivefxError('invalid_multipart', `the multipart form ended in the middle of the "${field}" file`);
}
