import type { LooksPassResult, LooksWorkerData, LooksWorkerMessage } from './looks-worker.js';
import { StudioWorker } from './studio-worker.js';
import type { WorkerPool } from './worker-pool.js';

/** The look pass thread's file (a WorkerPool keeps warm ones by it). */
export const LOOKS_WORKER = 'looks-worker.js';

export interface LooksRenderOptions extends LooksWorkerData {
  signal: AbortSignal;
  /** The pass fails when no frame comes out for this long. */
  stallS: number;
  onFrames?: (frames: number) => void;
  /** Warm look threads (the render service's). */
  pool?: WorkerPool;
}

export class LooksRenderError extends Error {
  override readonly name = 'LooksRenderError';
}

/**
 * Runs one shot's look pass in a worker thread (decode → live transform chain → encode). Cancelling
 * ends the thread, and its ffmpeg children with it; a pass with no new frame for `stallS` is killed.
 */
export class LooksRender {
  private readonly worker: StudioWorker<LooksWorkerMessage, LooksPassResult>;

  constructor(options: LooksRenderOptions) {
    const { signal, stallS, onFrames, pool, ...data } = options;
    this.worker = new StudioWorker<LooksWorkerMessage, LooksPassResult>({
      file: LOOKS_WORKER,
      ...(pool ? { pool } : {}),
      workerData: data satisfies LooksWorkerData,
      signal,
      stallS,
      what: 'the look pass',
      makeError: (message) => new LooksRenderError(message),
      onMessage: (message, control) => {
        if (message.type === 'frames') {
          control.progress();
          onFrames?.(message.frames);
        } else if (message.type === 'done') control.done({ frames: message.frames, backends: message.backends });
        else control.fail(new LooksRenderError(message.message));
      },
    });
  }

  /** The frames written and the backend each transform ran on. */
  run(): Promise<LooksPassResult> {
    return this.worker.run();
  }

  /** Ends the thread (its ffmpeg children die with it). Idempotent. */
  close(): Promise<void> {
    return this.worker.close();
  }
}
