import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { JobCancelledError } from '../core/process/process-runner.js';
import type { FaceSample } from './camera-path.js';
import type { FaceSamplerMessage, FaceSamplerWorkerData } from './face-sampler-worker.js';

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
}

export class FaceSamplerError extends Error {
  override readonly name = 'FaceSamplerError';
}

function workerUrl(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./face-sampler-worker.js', import.meta.url);
  const built = new URL('../dist/studio/face-sampler-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(built))) throw new FaceSamplerError(`the face sampler worker is not built (${fileURLToPath(built)}): run npm run build`);
  return built;
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
  private worker: Worker | undefined;
  private closed = false;

  constructor(private readonly options: FaceSamplerOptions) {}

  run(): Promise<FaceSample[]> {
    const { signal } = this.options;
    if (signal.aborted) return Promise.reject(new JobCancelledError('cancelled'));
    const size = sampleSize(this.options.sourceWidth, this.options.sourceHeight);
    const data: FaceSamplerWorkerData = {
      ffmpeg: this.options.ffmpeg,
      file: this.options.file,
      in: this.options.in,
      seconds: this.options.seconds,
      sampleFps: FACE_SAMPLE_FPS,
      ...size,
      minConfidence: MIN_CONFIDENCE,
      minFaceHeight: MIN_FACE_HEIGHT,
    };
    const { stallS } = this.options;
    return new Promise<FaceSample[]>((resolve, reject) => {
      const worker = (this.worker = new Worker(workerUrl(), { workerData: data, execArgv: [] }));
      let settled = false;
      let lastProgress = performance.now();
      const watchdog = setInterval(() => {
        if (performance.now() - lastProgress > stallS * 1000) finish(new FaceSamplerError(`follow-face: the face sampler made no progress for ${stallS} s and was stopped`));
      }, 1000);
      const finish = (error: Error | undefined, samples: FaceSample[] = []): void => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
        void this.close().then(() => (error ? reject(error) : resolve(samples)));
      };
      const onAbort = (): void => finish(new JobCancelledError('cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (message: FaceSamplerMessage) => {
        if (message.type === 'sampled') lastProgress = performance.now();
        else if (message.type === 'done') finish(undefined, message.samples);
        else finish(new FaceSamplerError(`follow-face: ${message.message}`));
      });
      worker.on('error', (error) => finish(new FaceSamplerError(`follow-face: the face sampler failed: ${error.message}`)));
      worker.on('exit', (code) => finish(new FaceSamplerError(`follow-face: the face sampler exited with ${code}`)));
    });
  }

  /** Ends the thread (its decoder and detector end with it). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    worker.postMessage({ type: 'abort' });
    await worker.terminate();
  }
}
