import type { ZodType } from 'zod';
import { LivefxError } from '../../core/errors.js';

/** Validates a request body; the error names the first bad field. */
export function parseBody<T>(schema: ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new LivefxError('invalid_request', `${field}: ${issue.message}`);
}
