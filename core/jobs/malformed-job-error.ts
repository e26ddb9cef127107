import type { ZodError } from 'zod';

/**
 * A job whose params its handler cannot read (written by another producer, or by an older livefx): it can
 * never succeed, so a queue fails it at once instead of retrying it.
 */
export class MalformedJobError extends Error {
  override readonly name = 'MalformedJobError';

  /** The first problem a schema found, named by its field (`params.k: …`). */
  static fromZod(error: ZodError): MalformedJobError {
    const issue = error.issues[0];
    return new MalformedJobError(issue ? `params${issue.path.map((key) => `.${String(key)}`).join('')}: ${issue.message}` : 'params do not match the job kind');
  }
}
