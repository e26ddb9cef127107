import { Worker } from 'node:worker_threads';
import { AsrError } from '../../asr-error.js';
import { AsrStreamBase } from '../../asr-stream-base.js';
import { POCKETSPHINX_SAMPLE_RATE } from './pocketsphinx-library.js';
import type { PocketSphinxInput, PocketSphinxOutput, PocketSphinxWorkerData } from './pocketsphinx-messages.js';
import type { RecognizerStats } from './pocketsphinx-recognizer.js';
import { LiveSpeakerAdaptation, type LiveAdaptationOptions } from './live-speaker-adaptation.js';

const END_TIMEOUT_MS = 30_000;

export interface PocketSphinxStreamOptions {
  /** The compiled pocketsphinx-worker.js. */
  workerUrl: URL;
  /** Of the PCM given to write(); the base resamples it to 16 kHz before it is posted. */
  sampleRate: number;
  recognizer: PocketSphinxWorkerData;
  /** Adapt to the speaker as the stream goes on (live captions); absent: never. */
  adaptation?: LiveAdaptationOptions;
}

/**
 * The caller's handle on one PocketSphinx stream: 16 kHz PCM is posted to a worker thread that
 * decodes it; its partials and finals come back as events. A dead worker becomes an `error`
 * (retryable) and the stream closes; the supervisor opens a new one.
 */
export class PocketSphinxStream extends AsrStreamBase {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  /** Samples (16 kHz) the worker has decoded, for back-pressure. */
  private processed = 0;
  private lastStats: RecognizerStats | undefined;
  private readonly adaptation: LiveSpeakerAdaptation | undefined;
  /** Transforms handed to the worker, settled by its `adapted` answer. */
  private readonly transforms = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(options: PocketSphinxStreamOptions) {
    super({ sampleRate: options.sampleRate, engineSampleRate: POCKETSPHINX_SAMPLE_RATE, label: 'PocketSphinx', endTimeoutMs: END_TIMEOUT_MS });
    this.worker = new Worker(options.workerUrl, { workerData: options.recognizer });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: PocketSphinxOutput) => this.onMessage(message));
    this.worker.on('error', (error) => this.fail(new AsrError('engine_crashed', `PocketSphinx worker crashed: ${error.message}`, true)));
    this.worker.on('exit', (code) => this.fail(new AsrError('engine_crashed', `PocketSphinx worker exited (code ${code}) before the stream ended`, true)));
    if (options.adaptation) {
      this.adaptation = new LiveSpeakerAdaptation(
        options.adaptation,
        (file) => this.applyTransform(file),
        (outcome) => this.emitAdaptation(outcome),
      );
    }
  }

  /** The worker's thread id (tests check it is gone after close()). */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** What the decoder did, known once end() has resolved. */
  get stats(): RecognizerStats | undefined {
    return this.lastStats;
  }

  /** For tests: makes the worker throw as a bug would. */
  crashWorkerForTest(): void {
    if (!this.closed) this.post({ type: 'crash' });
  }

  protected override get pendingSamples(): number {
    return this.samplesWritten - this.processed;
  }

  protected feed(samples: Int16Array): boolean {
    this.adaptation?.audio(samples);
    // Copied: the caller (or the resampler) reuses its buffer; ours is transferred to the worker.
    const copy = samples.slice();
    this.post({ type: 'audio', pcm: copy }, [copy.buffer]);
    return true;
  }

  protected finishInput(): void {
    this.post({ type: 'end' });
  }

  protected dropUtterance(): void {
    this.post({ type: 'cancel' });
  }

  protected async release(): Promise<void> {
    for (const pending of this.transforms.values()) pending.reject(new Error('the stream closed'));
    this.transforms.clear();
    await Promise.all([this.adaptation?.close(), this.worker.terminate()]);
    return this.exited;
  }

  private applyTransform(file: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the stream closed'));
    return new Promise((resolve, reject) => {
      this.transforms.set(file, { resolve, reject });
      this.post({ type: 'adapt', file });
    });
  }

  private post(message: PocketSphinxInput, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  private onMessage(message: PocketSphinxOutput): void {
    if (this.closed) return;
    switch (message.type) {
      case 'ready':
        return;
      case 'partial':
        this.emitResult(message.type, message.result);
        return;
      case 'final':
        this.emitResult(message.type, message.result);
        this.adaptation?.final(message.result);
        return;
      case 'adapted': {
        const pending = this.transforms.get(message.file);
        this.transforms.delete(message.file);
        if (message.error) pending?.reject(new Error(message.error));
        else pending?.resolve();
        return;
      }
      case 'processed':
        this.processed = message.samples;
        this.engineDrained();
        return;
      case 'ended':
        this.lastStats = message.stats;
        // end() resolves once the worker thread is gone, so a caller that awaited it holds nothing.
        this.finished();
        return;
      case 'failed':
        this.fail(new AsrError(message.retryable ? 'engine_crashed' : 'engine_unavailable', message.message, message.retryable));
        return;
    }
  }
}
