import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { FastifyReply } from 'fastify';
import { splitOrigin } from '../../core/cluster-media/job-origin.js';
import { RemoteMediaRefusal, type OutputArea, type RemoteMedia } from '../../core/cluster-media/remote-media.js';
import { LivefxError } from '../../core/errors.js';
import type { Job } from '../../core/jobs/job-queue.js';

/** How long a relayed output may take to start answering before the client gets a 502. */
const ORIGIN_TIMEOUT_MS = 30_000;

/**
 * Serves a job's output file that lives on the node the job was enqueued on (media between machines):
 * fetched from that node's internal route with a media token and relayed with its Range answer.
 * Returns undefined when the job names no other node (the file is simply missing here).
 */
export async function relayOriginOutput(reply: FastifyReply, remote: RemoteMedia | undefined, job: Job, area: OutputArea, name: string, contentType: string): Promise<FastifyReply | undefined> {
  const { origin } = splitOrigin(job.params);
  if (!remote?.isRemote(origin)) return undefined;
  const range = reply.request.headers.range;
  let answer: Response;
  // Only the answer's start is timed: the body of a large file may take as long as the client reads.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${ORIGIN_TIMEOUT_MS / 1000} s`)), ORIGIN_TIMEOUT_MS);
  try {
    answer = await remote.openOutput(origin, area, job.id, name, typeof range === 'string' ? range : undefined, controller.signal);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof RemoteMediaRefusal && error.status === 404) throw new LivefxError('file_not_found', `no file "${name}" in job ${job.id} on its node ${origin}`);
    throw new LivefxError('node_not_ready', `the file "${name}" of job ${job.id} is on node ${origin}, which did not answer: ${message}`);
  } finally {
    clearTimeout(timer);
  }
  reply.code(answer.status).header('content-type', contentType).header('accept-ranges', 'bytes');
  for (const header of ['content-length', 'content-range', 'etag']) {
    const value = answer.headers.get(header);
    if (value) reply.header(header, value);
  }
  return reply.send(answer.body ? Readable.fromWeb(answer.body as WebReadableStream<Uint8Array>) : '');
}

/** A 404 `file_not_found` (for `?? notFound(…)` after a relay that did not apply). */
export function notFound(message: string): never {
  throw new LivefxError('file_not_found', message);
}
