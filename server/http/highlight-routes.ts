import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Recorder } from '../../recorder/recorder.js';
import { highlightRequestSchema } from '../../highlights/highlight-params.js';
import type { HighlightClip, HighlightResult, HighlightService } from '../../highlights/highlight-service.js';
import type { RemoteMedia } from '../../core/cluster-media/remote-media.js';
import type { Job } from '../../core/jobs/job-queue.js';
import { LivefxError } from '../../core/errors.js';
import type { IdempotencyKeys } from './idempotency-keys.js';
import { notFound, relayOriginOutput } from './origin-output.js';
import { sendRangedFile } from './ranged-file.js';
import { parseBody } from './validation.js';

const reviewSchema = z
  .object({
    review: z.enum(['approved', 'rejected', 'pending']),
    start: z.number().min(0).optional(),
    end: z.number().min(0).optional(),
  })
  .strict();

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.jpg': 'image/jpeg',
  '.vtt': 'text/vtt; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.ffmetadata': 'text/plain; charset=utf-8',
};

/** POST/GET/DELETE /v1/video/highlights…: highlight jobs, their files, review and reel re-render. */
export function registerHighlightRoutes(app: FastifyInstance, highlights: HighlightService, recorder: Recorder, idempotency: IdempotencyKeys, remote?: RemoteMedia): void {
  const queue = highlights.queue;
  const base = '/v1/video/highlights';

  const findJob = async (id: string): Promise<Job> => {
    const job = await queue.get(id);
    if (!job) throw new LivefxError('job_not_found', `no highlights job with id "${id}"`);
    return job;
  };
  const fileUrl = (id: string, name: string | null): string | null => (name ? `${base}/${id}/files/${name}` : null);

  const view = (job: Job): Record<string, unknown> => {
    const status = job.status;
    let result: unknown = null;
    if (job.kind === 'highlights' && job.result) {
      const stored = job.result as HighlightResult;
      result = {
        clips: stored.clips.map((clip) => ({
          rank: clip.rank,
          start: clip.start,
          end: clip.end,
          score: clip.score,
          reasons: clip.reasons,
          file: fileUrl(job.id, clip.file),
          captions: fileUrl(job.id, clip.captions),
          thumbnail: fileUrl(job.id, clip.thumbnail),
          review: clip.review,
          // Dead air cut out of the clip (recording seconds): the file joins the parts around each gap.
          gaps: clip.gaps ?? [],
        })),
        reel: stored.reel ? { file: fileUrl(job.id, stored.reel.file), duration: stored.reel.duration } : null,
        chapters: stored.chapters,
        chaptersText: fileUrl(job.id, stored.chaptersText),
        provenance: stored.provenance,
        notes: stored.notes,
      };
    } else if (job.kind === 'reel' && job.result) {
      const stored = job.result as { sourceJob: string; reel: { file: string; duration: number }; clips: number[] };
      result = { job: stored.sourceJob, clips: stored.clips, reel: { file: fileUrl(stored.sourceJob, stored.reel.file), duration: stored.reel.duration } };
    }
    return { id: job.id, kind: job.kind, status, progress: job.progress, stage: job.stage, result, error: job.error, createdAt: job.createdAt, updatedAt: job.updatedAt };
  };

  app.post(base, async (request, reply) => {
    const body = parseBody(highlightRequestSchema, request.body);
    const recording = await recorder.catalog.get(body.recording_id);
    if (!recording) throw new LivefxError('recording_not_found', `no recording with id "${body.recording_id}"`);
    if (recording.state === 'recording' || recorder.isRecording(recording.id)) {
      throw new LivefxError('recording_in_progress', `recording ${recording.id} is still in progress; highlights can be made once the stream has ended`);
    }
    // A client that retries (or two nodes behind a balancer) with the same key gets the one job made first.
    const keyed = await idempotency.jobFor('highlights', request.headers['idempotency-key'], request.body);
    const job = await highlights.enqueue(body, keyed ? { id: keyed.id } : {});
    if (keyed?.replayed) reply.header('Idempotent-Replayed', 'true');
    return reply.code(202).header('Location', `${base}/${job.id}`).send({ id: job.id, status: job.status });
  });

  app.get(base, async () => ({ jobs: (await queue.list()).map(view) }));

  app.get<{ Params: { id: string } }>(`${base}/:id`, async (request) => view(await findJob(request.params.id)));

  app.delete<{ Params: { id: string } }>(`${base}/:id`, async (request) => {
    const job = await findJob(request.params.id);
    const active = job.status === 'queued' || job.status === 'running';
    if (active) await queue.cancel(job.id);
    if (job.kind === 'highlights') await highlights.deleteOutputs(job.id);
    else await queue.settled(job.id);
    // A finished job goes entirely; a cancelled one stays visible as `cancelled`.
    if (!active) await queue.remove(job.id);
    return { id: job.id, status: active ? 'cancelled' : 'deleted' };
  });

  app.get<{ Params: { id: string; name: string } }>(`${base}/:id/files/:name`, async (request, reply) => {
    const job = await findJob(request.params.id);
    const name = request.params.name;
    const type = CONTENT_TYPES[path.extname(name.replace(/\.provenance\.json$/, '.json'))];
    if (!/^[\w-]+(\.[\w-]+)+$/.test(name) || !type) throw new LivefxError('file_not_found', `no file "${name}" in job ${job.id}`);
    const file = path.join(highlights.jobDir(job.id), name);
    if (name.includes('.partial')) throw new LivefxError('file_not_found', `no file "${name}" in job ${job.id}`);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return (await relayOriginOutput(reply, remote, job, 'highlights', name, type)) ?? notFound(`no file "${name}" in job ${job.id}`);
    return sendRangedFile(reply, request.headers.range, file, info.size, type);
  });

  app.patch<{ Params: { id: string; rank: string } }>(`${base}/:id/clips/:rank`, async (request) => {
    const job = await findJob(request.params.id);
    const body = parseBody(reviewSchema, request.body);
    if (job.kind !== 'highlights' || job.status !== 'done' || !job.result) throw new LivefxError('job_not_done', `job ${job.id} has no clips to review yet (status ${job.status})`);
    const result = job.result as HighlightResult;
    const clip = result.clips.find((candidate) => String(candidate.rank) === request.params.rank);
    if (!clip) throw new LivefxError('clip_not_found', `job ${job.id} has no clip ${request.params.rank}: ranks are 1 to ${result.clips.length}`);
    const start = body.start ?? clip.start;
    const end = body.end ?? clip.end;
    if (end <= start) throw new LivefxError('invalid_request', `end: must be after start (${start})`);
    const recordingS = (await recorder.catalog.get(result.recordingId))?.durationS;
    if (recordingS !== undefined && end > recordingS + 0.5) throw new LivefxError('invalid_request', `end: the recording lasts ${recordingS} s`);
    const others = result.clips.filter((candidate) => candidate !== clip);
    const overlapping = others.find((other) => other.start < end && start < other.end);
    if (overlapping) throw new LivefxError('invalid_request', `start/end: the clip would overlap clip ${overlapping.rank} (${overlapping.start}–${overlapping.end} s)`);
    const changed: Partial<HighlightClip> = { review: body.review };
    if (start !== clip.start || end !== clip.end) Object.assign(changed, { start, end, trimmed: true });
    Object.assign(clip, changed);
    await queue.setResult(job.id, result);
    return view((await queue.get(job.id))!);
  });

  app.post<{ Params: { id: string } }>(`${base}/:id/reel`, async (request, reply) => {
    const job = await findJob(request.params.id);
    if (job.kind !== 'highlights' || job.status !== 'done' || !job.result) throw new LivefxError('job_not_done', `job ${job.id} has no clips yet (status ${job.status})`);
    const approved = (job.result as HighlightResult).clips.filter((clip) => clip.review === 'approved');
    if (approved.length === 0) throw new LivefxError('no_approved_clips', `job ${job.id} has no approved clips: approve some with PATCH ${base}/${job.id}/clips/<rank>`);
    const reelJob = await highlights.enqueueReel(job.id);
    return reply.code(202).header('Location', `${base}/${reelJob.id}`).send({ id: reelJob.id, status: reelJob.status });
  });
}
