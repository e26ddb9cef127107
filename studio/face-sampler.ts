import type { FaceSample } from './camera-path.js';
import type { FaceSamplerMessage, FaceSamplerWorkerData } from './face-sampler-worker.js';
import { StudioWorker } from './studio-worker.js';
import type { WorkerPool } from './worker-pool.js';

/** The sampler thread's file (a WorkerPool keeps warm ones by it). */
export const FACE_SAMPLER_WORKER = 'face-sampler-worker.js';
/** Pictures searched per second of a shot: faces move slowly against this, and each search costs a few BlazeFace passes. */
export const FACE_SAMPLE_FPS = 3;
/** The detector's picture: BlazeFace's 256 on the short side, one pass (tiles would find smaller faces at seven times the cost). */
const SAMPLE_SHORT_SIDE = 256;
const SAMPLE_LONG_SIDE_MAX = 768;
/** The face-blur transform's defaults: what it blurs, the camera follows. */
const MIN_CONFIDENCE = 0.4;
const MIN_FACE_HEIGHT = 0.035;

export interface FaceSamplerOptions {
  ffmpeg: string;
  file: string;
  sourceWidth: number;
  sourceHeight: number;
  /** Source seconds of the shot. */
  in: number;
  seconds: number;
  signal: AbortSignal;
  /** The sampler is stopped when no picture is searched for this long (a stalled decoder or detector). */
  stallS: number;
  /** Warm sampler threads, their face model loaded (the render service's). */
  pool?: WorkerPool;
}

export class FaceSamplerError extends Error {
  override readonly name = 'FaceSamplerError';
}

/** The detector's picture size for a source: its aspect kept, even sides, short side SAMPLE_SHORT_SIDE. */
export function sampleSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(SAMPLE_SHORT_SIDE / Math.min(width, height), SAMPLE_LONG_SIDE_MAX / Math.max(width, height));
  return { width: Math.max(2, Math.round((width * scale) / 2) * 2), height: Math.max(2, Math.round((height * scale) / 2) * 2) };
}

/**
 * Finds the faces of a shot's source a few times a second, in a worker thread (its own ffmpeg decoder
 * and the face-blur transform's detector thread), so the server's event loop does no pixel work.
 * Cancelling ends the thread, and the decoder and detector with it.
 */
export class FaceSampler {
  private readonly worker: StudioWorker<FaceSamplerMessage, FaceSample[]>;

  constructor(options: FaceSamplerOptions) {
    const data: FaceSamplerWorkerData = {
      ffmpeg: options.ffmpeg,
      file: options.file,
      in: options.in,
      seconds: options.seconds,
      sampleFps: FACE_SAMPLE_FPS,
      ...sampleSize(options.sourceWidth, options.sourceHeight),
      minConfidence: MIN_CONFIDENCE,
      minFaceHeight: MIN_FACE_HEIGHT,
    };
    this.worker = new StudioWorker<FaceSamplerMessage, FaceSample[]>({
      file: FACE_SAMPLER_WORKER,
      workerData: data,
      ...(options.pool ? { pool: options.pool } : {}),
      signal: options.signal,
      stallS: options.stallS,
      what: 'follow-face: the face sampler',
      makeError: (message) => new FaceSamplerError(message),
      onMessage: (message, control) => {
        if (message.type === 'sampled') control.progress();
        else if (message.type === 'done') control.done(message.samples);
        else control.fail(new FaceSamplerError(`follow-face: ${message.message}`));
      },
    });
  }

  run(): Promise<FaceSample[]> {
    return this.worker.run();
  }

  /** Ends the thread (its decoder and detector end with it). Idempotent. */
  close(): Promise<void> {
    return this.worker.close();
  }
}
