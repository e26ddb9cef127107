import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { LivefxError } from '../../core/errors.js';
import { ProcessRunner } from '../../core/process/process-runner.js';
import type { Recorder } from '../../recorder/recorder.js';

export interface RecordingFrameOptions {
  /** Frames made once are kept here (`<recording>/<ms>-<width>.jpg`): a storyboard's cards ask for the same ones again. */
  cacheDir: string;
  ffmpeg: string;
  ffprobe: string;
}

const frameQuery = z
  .object({
    t: z.coerce.number({ message: 'must be a number of seconds' }).finite('must be a number of seconds').min(0, 'must be 0 or more seconds'),
    width: z.coerce.number().int('must be a whole number of pixels').min(64, 'must be at least 64').max(1280, 'must be at most 1280').default(320),
    // Pages put their token in image URLs (an <img> cannot send headers); access control has read it already.
    token: z.string().optional(),
  })
  .strict();

/** Frame grabs at once: a storyboard of 20 cards must not start 20 decoders on a small machine. */
const MAX_RUNNING = 2;
/** A frame grab reads a few seconds of media at most: past this without progress it is stuck. */
const STALL_S = 20;

/**
 * GET /v1/recordings/:id/frame?t=<seconds>[&width=<px>]: one JPEG frame of a finished recording (what
 * viewers saw when there is a transformed output, else the original), scaled to `width` (320 by
 * default). The studio's storyboard cards show the frame at each shot's in point.
 */
export function registerRecordingFrameRoutes(app: FastifyInstance, recorder: Recorder, options: RecordingFrameOptions): void {
  const runner = new ProcessRunner({ ffmpeg: options.ffmpeg, ffprobe: options.ffprobe, stallS: STALL_S, label: 'recording frames' });
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };

  app.get<{ Params: { id: string } }>('/v1/recordings/:id/frame', async (request, reply) => {
    const parsed = frameQuery.safeParse(request.query ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new LivefxError('invalid_query', `${issue.path.join('.') || 'query'}: ${issue.code === 'invalid_type' && issue.path[0] === 't' ? 'is required: the time of the frame in seconds (?t=12.5)' : issue.message}`);
    }
    const { t, width } = parsed.data;
    const recording = await recorder.catalog.get(request.params.id);
    if (!recording) throw new LivefxError('recording_not_found', `no recording with id "${request.params.id}"`);
    if (recording.state === 'recording' || recorder.isRecording(recording.id)) {
      throw new LivefxError('recording_in_progress', `recording ${recording.id} is still in progress; its frames can be fetched once the stream has ended`);
    }
    if (t > recording.durationS) throw new LivefxError('invalid_query', `t: ${t} s is past the end of the recording (${recording.durationS} s)`);
    // The last frame starts a little before the end: a seek to the very end finds nothing.
    const at = Math.max(0, Math.min(t, recording.durationS - 0.1));
    const kind = (await recorder.catalog.segments(recording.id, 'transformed')).length > 0 ? 'transformed' : 'original';
    if (recording.state !== 'imported' && (await recorder.catalog.segments(recording.id, kind)).length === 0) throw new LivefxError('media_not_found', `recording ${recording.id} has no media`);
    const cached = path.join(options.cacheDir, recording.id, `${Math.round(at * 1000)}-${width}.jpg`);
    let jpeg: Buffer;
    try {
      jpeg = await readFile(cached);
    } catch {
      jpeg = await slot(async () => {
        const media = await recorder.media(recording.id, kind);
        await mkdir(path.dirname(cached), { recursive: true });
        const temporary = `${cached}.${randomBytes(6).toString('hex')}.jpg`;
        try {
          try {
            await runner.ffmpegRun(['-v', 'error', '-y', '-ss', at.toFixed(3), '-i', media.file, '-frames:v', '1', '-vf', `scale=${width}:-2`, '-q:v', '4', '-f', 'image2', temporary], AbortSignal.timeout(60_000), {
              stage: `frame of ${recording.id} at ${at} s`,
            });
          } catch (error) {
            // Media ffmpeg cannot decode is a property of the recording, not a server fault.
            request.log.warn({ err: error, recordingId: recording.id, t: at }, 'no frame could be decoded');
            throw new LivefxError('media_not_found', `recording ${recording.id} has no decodable picture at ${at} s`, { httpStatus: 422 });
          }
          const made = await readFile(temporary).catch(() => Buffer.alloc(0));
          if (made.length === 0) throw new LivefxError('media_not_found', `recording ${recording.id} has no picture at ${at} s`);
          await rename(temporary, cached);
          return made;
        } finally {
          await rm(temporary, { force: true });
        }
      });
    }
    return reply.header('Content-Type', 'image/jpeg').header('Cache-Control', 'private, max-age=3600').send(jpeg);
  });
}
