import { createHash } from 'node:crypto';
import { LivefxError } from '../../core/errors.js';
import { JOB_ID_PATTERN, type JobQueue } from '../../core/jobs/job-queue.js';
import type { IdempotencyStore } from '../storage/idempotency-store.js';

/** How long a key holds (24 h): a retry within it gets the first answer, another body a 422. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface IdempotencyKeysOptions {
  store: IdempotencyStore;
  queue: Pick<JobQueue, 'get'>;
}

/** The JSON text of a value with object keys sorted: two bodies that differ only in key order are the same body. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The `Idempotency-Key` header of the job POSTs: the first use of a key stores the body's hash and the
 * job id (in the shared store, so it holds across nodes); a retry with the same body gets the same job,
 * the same key with another body within 24 h is refused with 422 `idempotency_key_reused`.
 */
export class IdempotencyKeys {
  constructor(private readonly options: IdempotencyKeysOptions) {}

  /** The job id to enqueue under (`replayed`: the job exists from an earlier request); undefined without the header. */
  async jobFor(scope: string, header: string | string[] | undefined, body: unknown): Promise<{ id: string; replayed: boolean } | undefined> {
    if (header === undefined) return undefined;
    if (typeof header !== 'string' || !JOB_ID_PATTERN.test(header)) {
      throw new LivefxError('invalid_request', 'Idempotency-Key must be 1–128 letters, digits, "-", "_" or "." (not digits only, not starting with "."); it becomes the job id');
    }
    const bodySha256 = createHash('sha256').update(canonicalJson(body)).digest('hex');
    // A key used again after 24 h makes a new job: the first one's id may still be taken.
    const proposed = (await this.options.queue.get(header)) ? `${header.slice(0, 110)}.${Date.now().toString(36)}` : header;
    const held = await this.options.store.claim({ scope, key: header, bodySha256, jobId: proposed }, new Date(Date.now() - IDEMPOTENCY_TTL_MS).toISOString());
    if (held.bodySha256 !== bodySha256) {
      throw new LivefxError('idempotency_key_reused', `Idempotency-Key "${header}" was used at ${held.createdAt} for another request body (job ${held.jobId}); use a new key for a new request`, { details: { job: held.jobId } });
    }
    return { id: held.jobId, replayed: (await this.options.queue.get(held.jobId)) !== undefined };
  }
}
