import type { AsrEngine, AsrResult, AsrStream } from './asr-engine.js';
import { AsrError } from './asr-error.js';
import { AsrStreamBase } from './asr-stream-base.js';
import type { FallbackAsrEngine } from './fallback-asr-engine.js';

export interface FallbackAsrStreamOptions {
  engine: FallbackAsrEngine;
  sampleRate: number;
  /** Recent audio kept for the next engine to hear again. */
  replayMs: number;
}

/**
 * One stream of a FallbackAsrEngine: the audio goes to the current engine's stream; when that fails
 * for good, the next engine's stream takes over, first hearing again the audio since the last final
 * (at most replayMs), and its times are shifted so they still count from this stream's first sample.
 */
export class FallbackAsrStream extends AsrStreamBase {
  private readonly engine: FallbackAsrEngine;
  private index: number;
  private inner: AsrStream;
  private innerEngine: AsrEngine;
  /** Where the inner stream's time 0 lies on this stream's clock. */
  private innerOriginMs = 0;
  /** The last replayMs of audio, while an engine is left to take over; a ring. */
  private replay: Int16Array | undefined;
  private replayEnd = 0;
  /** Samples (this stream's count) up to which the words are committed: no need to hear them again. */
  private committed = 0;
  /** Streams given up, still closing. */
  private readonly retired: Promise<void>[] = [];

  constructor(options: FallbackAsrStreamOptions) {
    // Each engine resamples to its own rate; this stream passes the audio on as it comes.
    super({ sampleRate: options.sampleRate, engineSampleRate: options.sampleRate, label: `speech engine ${options.engine.name}` });
    this.engine = options.engine;
    const { index, engine, stream } = this.engine.openFrom(0, { sampleRate: options.sampleRate });
    this.index = index;
    this.inner = stream;
    this.innerEngine = engine;
    if (this.engine.hasAfter(index)) this.replay = new Int16Array(Math.max(1, Math.round((options.replayMs * options.sampleRate) / 1000)));
    this.attach(stream);
  }

  /** The engine this stream is on now. */
  get engineName(): string {
    return this.innerEngine.name;
  }

  protected feed(samples: Int16Array): boolean {
    if (this.replay) this.keep(samples);
    const inner = this.inner;
    const room = inner.write(samples);
    // An engine that failed inside write() was replaced there, and the new one heard these samples in the replay.
    return inner === this.inner ? room : true;
  }

  protected finishInput(): void {
    this.endInner(this.inner);
  }

  protected dropUtterance(): void {
    this.committed = this.samplesWritten;
    this.inner.cancel();
  }

  protected async release(): Promise<void> {
    await Promise.all([this.inner.close(), ...this.retired]);
  }

  private attach(stream: AsrStream): void {
    const shifted = (result: AsrResult): AsrResult => {
      const shift = this.innerOriginMs;
      if (shift === 0) return result;
      return { text: result.text, words: result.words.map((word) => ({ ...word, startMs: word.startMs + shift, endMs: word.endMs + shift })) };
    };
    stream.on('partial', (result) => {
      if (stream === this.inner) this.emitResult('partial', shifted(result));
    });
    stream.on('final', (result) => {
      if (stream !== this.inner) return;
      const final = shifted(result);
      const last = final.words[final.words.length - 1];
      if (last) this.committed = Math.min(this.samplesWritten, Math.max(this.committed, Math.round((last.endMs * this.sampleRate) / 1000)));
      this.emitResult('final', final);
    });
    stream.on('drain', () => {
      if (stream === this.inner) this.engineDrained();
    });
    stream.on('adaptation', (outcome) => {
      if (stream === this.inner) this.emitAdaptation(outcome);
    });
    stream.on('error', (error) => {
      if (stream === this.inner) this.onInnerError(error);
    });
  }

  private endInner(stream: AsrStream): void {
    stream.end().then(
      () => {
        if (stream === this.inner) this.finished();
      },
      (error: unknown) => {
        // A failure was reported as an `error` event already; only a refusal without one is left.
        if (stream === this.inner && !this.closed) this.onInnerError(error instanceof AsrError ? error : new AsrError('engine_failed', String(error), false));
      },
    );
  }

  private onInnerError(error: AsrError): void {
    if (error.retryable || !this.engine.hasAfter(this.index)) {
      this.fail(error);
      return;
    }
    this.engine.giveUp(this.index, error);
    let next: ReturnType<FallbackAsrEngine['openFrom']>;
    try {
      next = this.engine.openFrom(this.index + 1, { sampleRate: this.sampleRate });
    } catch (openError) {
      this.fail(openError instanceof AsrError ? openError : new AsrError('engine_unavailable', openError instanceof Error ? openError.message : String(openError), false));
      return;
    }
    const previous = this.inner;
    this.retired.push(previous.close());
    this.index = next.index;
    this.inner = next.stream;
    this.innerEngine = next.engine;
    this.attach(next.stream);
    this.replayInto(next.stream);
    if (!this.engine.hasAfter(this.index)) this.replay = undefined;
    if (this.inputEnded) this.endInner(next.stream);
  }

  /** The next engine hears the audio since the last final (as much as was kept) and counts its times from there. */
  private replayInto(stream: AsrStream): void {
    const written = this.samplesWritten;
    const ring = this.replay;
    const kept = ring ? Math.min(ring.length, written) : 0;
    const from = Math.max(this.committed, written - kept);
    this.innerOriginMs = (from * 1000) / this.sampleRate;
    let room = true;
    if (ring && from < written) {
      const start = (this.replayEnd - (written - from) + ring.length) % ring.length;
      const count = written - from;
      const first = Math.min(count, ring.length - start);
      room = stream.write(ring.subarray(start, start + first));
      if (count > first) room = stream.write(ring.subarray(0, count - first)) && room;
    }
    // A writer waiting for the old engine's drain would otherwise wait for good.
    if (room) this.engineDrained();
  }

  /** Copies the audio into the ring (no allocation). */
  private keep(samples: Int16Array): void {
    const ring = this.replay!;
    const source = samples.length > ring.length ? samples.subarray(samples.length - ring.length) : samples;
    const first = Math.min(source.length, ring.length - this.replayEnd);
    ring.set(source.subarray(0, first), this.replayEnd);
    if (source.length > first) ring.set(source.subarray(first), 0);
    this.replayEnd = (this.replayEnd + source.length) % ring.length;
  }
}
