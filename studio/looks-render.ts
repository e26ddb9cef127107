import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { JobCancelledError } from '../core/process/process-runner.js';
import type { LooksWorkerData, LooksWorkerMessage } from './looks-worker.js';

export interface LooksRenderOptions extends LooksWorkerData {
  signal: AbortSignal;
  /** The pass fails when no frame comes out for this long. */
  stallS: number;
  onFrames?: (frames: number) => void;
}

export class LooksRenderError extends Error {
  override readonly name = 'LooksRenderError';
}

/** The worker's file: beside this one when built, else the built copy (tests run the sources). */
function workerUrl(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./looks-worker.js', import.meta.url);
  const built = new URL('../dist/studio/looks-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(built))) throw new LooksRenderError(`the look pass worker is not built (${fileURLToPath(built)}): run npm run build`);
  return built;
}

/**
 * Runs one shot's look pass in a worker thread (decode → live transform chain → encode). Cancelling
 * ends the thread, and its ffmpeg children with it; a pass with no new frame for `stallS` is killed.
 */
export class LooksRender {
  private worker: Worker | undefined;
  private closed = false;

  constructor(private readonly options: LooksRenderOptions) {}

  run(): Promise<number> {
    const { signal, stallS, onFrames, ...data } = this.options;
    if (signal.aborted) return Promise.reject(new JobCancelledError('cancelled'));
    return new Promise<number>((resolve, reject) => {
      const worker = (this.worker = new Worker(workerUrl(), { workerData: data satisfies LooksWorkerData, execArgv: [] }));
      let lastProgress = performance.now();
      let settled = false;
      const finish = (error: Error | undefined, frames = 0): void => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
        void this.close().then(() => (error ? reject(error) : resolve(frames)));
      };
      const onAbort = (): void => finish(new JobCancelledError('cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      const watchdog = setInterval(() => {
        if (performance.now() - lastProgress > stallS * 1000) finish(new LooksRenderError(`the look pass made no progress for ${stallS} s and was stopped`));
      }, 1000);
      worker.on('message', (message: LooksWorkerMessage) => {
        if (message.type === 'frames') {
          lastProgress = performance.now();
          onFrames?.(message.frames);
        } else if (message.type === 'done') finish(undefined, message.frames);
        else finish(new LooksRenderError(message.message));
      });
      worker.on('error', (error) => finish(new LooksRenderError(`look pass worker failed: ${error.message}`)));
      worker.on('exit', (code) => finish(new LooksRenderError(`look pass worker exited with ${code}`)));
    });
  }

  /** Ends the thread (its ffmpeg children die with it). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    worker.postMessage({ type: 'abort' });
    await worker.terminate();
  }
}
