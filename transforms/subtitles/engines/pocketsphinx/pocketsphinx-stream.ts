import { Worker } from 'node:worker_threads';
import { TypedEmitter } from '../../../../core/typed-emitter.js';
import type { AsrStream, AsrStreamEvents } from '../../asr-engine.js';
import { AsrError } from '../../asr-error.js';
import type { PocketSphinxInput, PocketSphinxOutput, PocketSphinxWorkerData } from './pocketsphinx-messages.js';
import type { RecognizerStats } from './pocketsphinx-recognizer.js';

/** Back-pressure threshold: write() returns false beyond this much audio not yet decoded. */
const HIGH_WATER_MS = 2000;
const END_TIMEOUT_MS = 30_000;

/**
 * The caller's handle on one PocketSphinx stream: PCM is posted to a worker thread that decodes it;
 * its partials and finals come back as events. A dead worker becomes an `error` (retryable) and
 * the stream closes; the supervisor opens a new one.
 */
export class PocketSphinxStream extends TypedEmitter<AsrStreamEvents> implements AsrStream {
  private readonly worker: Worker;
  private isClosed = false;
  private exited: Promise<void>;
  private written = 0;
  private processed = 0;
  private waitingForDrain = false;
  private ending: { resolve: () => void; reject: (error: AsrError) => void; timer: NodeJS.Timeout } | undefined;
  private endPromise: Promise<void> | undefined;
  private lastStats: RecognizerStats | undefined;

  constructor(workerUrl: URL, private readonly settings: PocketSphinxWorkerData) {
    super();
    this.worker = new Worker(workerUrl, { workerData: settings });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: PocketSphinxOutput) => this.onMessage(message));
    this.worker.on('error', (error) => this.fail(new AsrError('engine_crashed', `PocketSphinx worker crashed: ${error.message}`, true)));
    this.worker.on('exit', (code) => {
      if (!this.isClosed) this.fail(new AsrError('engine_crashed', `PocketSphinx worker exited (code ${code}) before the stream ended`, true));
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The worker's thread id (tests check it is gone after close()). */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** What the decoder did, known once end() has resolved. */
  get stats(): RecognizerStats | undefined {
    return this.lastStats;
  }

  /** Audio written but not yet decoded, in ms. */
  get backlogMs(): number {
    return ((this.written - this.processed) / this.settings.sampleRate) * 1000;
  }

  write(pcm: Int16Array): boolean {
    if (this.isClosed || this.endPromise) return false;
    const copy = pcm.slice();
    this.written += copy.length;
    this.post({ type: 'audio', pcm: copy }, [copy.buffer]);
    if (this.backlogMs > HIGH_WATER_MS) this.waitingForDrain = true;
    return !this.waitingForDrain;
  }

  end(): Promise<void> {
    if (this.endPromise) return this.endPromise;
    if (this.isClosed) return Promise.reject(new AsrError('engine_failed', 'the PocketSphinx stream is closed', false));
    this.endPromise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new AsrError('timeout', `PocketSphinx did not finish within ${END_TIMEOUT_MS / 1000} s of end()`, true)), END_TIMEOUT_MS);
      this.ending = { resolve, reject, timer };
    });
    this.post({ type: 'end' });
    return this.endPromise;
  }

  cancel(): void {
    if (!this.isClosed) this.post({ type: 'cancel' });
  }

  /** For tests: makes the worker throw as a bug would. */
  crashWorkerForTest(): void {
    this.post({ type: 'crash' });
  }

  async close(): Promise<void> {
    if (!this.isClosed) {
      this.isClosed = true;
      this.removeAllListeners();
      if (this.ending) {
        clearTimeout(this.ending.timer);
        this.ending.resolve();
        this.ending = undefined;
      }
      await this.worker.terminate();
    }
    return this.exited;
  }

  private post(message: PocketSphinxInput, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  private onMessage(message: PocketSphinxOutput): void {
    if (this.isClosed) return;
    switch (message.type) {
      case 'ready':
        return;
      case 'partial':
      case 'final':
        this.safeEmit(message.type, message.result);
        return;
      case 'processed':
        this.processed = message.samples;
        if (this.waitingForDrain && this.backlogMs <= HIGH_WATER_MS / 2) {
          this.waitingForDrain = false;
          this.safeEmit('drain');
        }
        return;
      case 'ended': {
        this.lastStats = message.stats;
        const ending = this.ending;
        this.ending = undefined;
        if (ending) clearTimeout(ending.timer);
        // end() resolves once the worker thread is gone, so a caller that awaited it holds nothing.
        void this.close().then(() => ending?.resolve());
        return;
      }
      case 'failed':
        this.fail(new AsrError(message.retryable ? 'engine_crashed' : 'engine_unavailable', message.message, message.retryable));
        return;
    }
  }

  private fail(error: AsrError): void {
    if (this.isClosed) return;
    const ending = this.ending;
    this.ending = undefined;
    this.safeEmit('error', error);
    void this.close();
    if (ending) {
      clearTimeout(ending.timer);
      ending.reject(error);
    }
  }
}
