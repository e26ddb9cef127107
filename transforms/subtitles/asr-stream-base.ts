import { TypedEmitter } from '../../core/typed-emitter.js';
import type { AsrResult, AsrStream, AsrStreamEvents, SpeakerAdaptationOutcome } from './asr-engine.js';
import { AsrError } from './asr-error.js';
import { PcmResampler } from './pcm-resampler.js';

export interface AsrStreamBaseOptions {
  /** Of the PCM given to write(). */
  sampleRate: number;
  /** What the engine hears: write() resamples to it (the same rate: no conversion). */
  engineSampleRate: number;
  /** Names the engine in error messages ("PocketSphinx", "ASR command whisper-bridge"). */
  label: string;
  /** end() fails with a retryable `timeout` when the engine has not finished by then; undefined: no limit of its own. */
  endTimeoutMs?: number;
  /** write() returns false while more than this much audio waits for the engine (default 2 s). */
  highWaterMs?: number;
}

interface PendingEnd {
  resolve: () => void;
  reject: (error: AsrError) => void;
  timer: NodeJS.Timeout | undefined;
}

/** The input rates an engine accepts: telephone audio up to studio rates. */
const MIN_SAMPLE_RATE = 8000;
const MAX_SAMPLE_RATE = 192_000;
const DEFAULT_HIGH_WATER_MS = 2000;

/**
 * What every speech stream shares, so an engine implements only feeding audio and producing results:
 * resampling to the engine's rate, back-pressure (`write()` → false, then `drain`), the pending
 * `end()` with its time limit, `fail()` (one `error`, then closed) and an idempotent `close()`.
 *
 * An engine implements `feed` (take the audio), `finishInput` (no more audio: flush, then call
 * `finished()`), `dropUtterance` and `release` (free the thread or process); it reports results with
 * `emitResult`, progress with `engineDrained` and failures with `fail`.
 */
export abstract class AsrStreamBase extends TypedEmitter<AsrStreamEvents> implements AsrStream {
  protected readonly label: string;
  private readonly resampler: PcmResampler;
  private readonly endTimeoutMs: number | undefined;
  private readonly highWaterSamples: number;
  private written = 0;
  private waitingForDrain = false;
  private isClosed = false;
  private endPromise: Promise<void> | undefined;
  private ending: PendingEnd | undefined;
  private closePromise: Promise<void> | undefined;

  constructor(options: AsrStreamBaseOptions) {
    super();
    const { sampleRate } = options;
    if (!Number.isInteger(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
      throw new RangeError(`sampleRate must be an integer between ${MIN_SAMPLE_RATE} and ${MAX_SAMPLE_RATE}, got ${sampleRate}`);
    }
    this.label = options.label;
    this.resampler = new PcmResampler(sampleRate, options.engineSampleRate);
    this.endTimeoutMs = options.endTimeoutMs;
    this.highWaterSamples = ((options.highWaterMs ?? DEFAULT_HIGH_WATER_MS) * options.engineSampleRate) / 1000;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Of the PCM given to write(). */
  get sampleRate(): number {
    return this.resampler.inputRate;
  }

  /** What the engine hears. */
  get engineSampleRate(): number {
    return this.resampler.outputRate;
  }

  write(pcm: Int16Array): boolean {
    if (this.isClosed || this.endPromise) return false;
    const samples = this.resampler.process(pcm);
    this.written += samples.length;
    const room = this.feed(samples);
    if (!room || this.pendingSamples > this.highWaterSamples) this.waitingForDrain = true;
    return !this.waitingForDrain;
  }

  end(): Promise<void> {
    if (this.endPromise) return this.endPromise;
    if (this.isClosed) return Promise.reject(new AsrError('engine_failed', `the ${this.label} stream is closed`, false));
    this.endPromise = new Promise<void>((resolve, reject) => {
      const limit = this.endTimeoutMs;
      const timer =
        limit === undefined
          ? undefined
          : setTimeout(() => this.fail(new AsrError('timeout', `${this.label} did not finish within ${limit} ms of the end of its input`, true)), limit);
      this.ending = { resolve, reject, timer };
    });
    this.finishInput();
    return this.endPromise;
  }

  cancel(): void {
    if (!this.isClosed) this.dropUtterance();
  }

  close(): Promise<void> {
    if (!this.closePromise) {
      this.isClosed = true;
      this.removeAllListeners();
      // A caller awaiting end() is released: close() means "no more events", not a failure.
      this.settleEnd()?.resolve();
      this.closePromise = this.release();
    }
    return this.closePromise;
  }

  /** end() has been called: the engine has all its input. */
  protected get inputEnded(): boolean {
    return this.endPromise !== undefined;
  }

  /** Audio the engine has been given, in samples of its own rate. */
  protected get samplesWritten(): number {
    return this.written;
  }

  /** Audio given to the engine but not yet taken up, in samples of its rate (for back-pressure). */
  protected get pendingSamples(): number {
    return 0;
  }

  /** The engine took up audio: a writer waiting for `drain` hears it once the backlog is down to half the high-water mark. */
  protected engineDrained(): void {
    if (this.isClosed || !this.waitingForDrain || this.pendingSamples > this.highWaterSamples / 2) return;
    this.waitingForDrain = false;
    this.safeEmit('drain');
  }

  protected emitResult(kind: 'partial' | 'final', result: AsrResult): void {
    if (!this.isClosed) this.safeEmit(kind, result);
  }

  /** The engine adapted to the speaker, or could not (once). */
  protected emitAdaptation(outcome: SpeakerAdaptationOutcome): void {
    if (!this.isClosed) this.safeEmit('adaptation', outcome);
  }

  /** The engine has emitted its last final after end(): the stream closes, then end() resolves. */
  protected finished(): void {
    const ending = this.settleEnd();
    void this.close().then(() => ending?.resolve());
  }

  /** The engine failed: one `error`, the stream closes, a pending end() rejects. */
  protected fail(error: AsrError): void {
    if (this.isClosed) return;
    const ending = this.settleEnd();
    this.safeEmit('error', error);
    void this.close();
    ending?.reject(error);
  }

  /** Takes the pending end(), if any, with its timer stopped. */
  private settleEnd(): PendingEnd | undefined {
    const ending = this.ending;
    this.ending = undefined;
    if (ending) clearTimeout(ending.timer);
    return ending;
  }

  /** Takes audio at the engine's rate; valid only during the call (copy what is kept). False: the writer should wait for `drain`. */
  protected abstract feed(samples: Int16Array): boolean;
  /** No more audio: the engine flushes its last final, then calls finished() (or fail()). */
  protected abstract finishInput(): void;
  /** Drops the utterance in progress without a final. */
  protected abstract dropUtterance(): void;
  /** Frees the engine's thread or process; resolves when it is gone. Called once. */
  protected abstract release(): Promise<void>;
}
