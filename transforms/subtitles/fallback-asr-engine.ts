import { TypedEmitter } from '../../core/typed-emitter.js';
import type { AsrEngine, AsrOpenOptions, AsrStream } from './asr-engine.js';
import { AsrError } from './asr-error.js';
import { FallbackAsrStream } from './fallback-asr-stream.js';

/** An engine failed for good and the next one took over. */
export interface AsrFallback {
  from: { name: string; version: string };
  to: { name: string; version: string };
  /** Why `from` is given up: a non-retryable error, or its open() threw. */
  error: AsrError;
}

export type FallbackAsrEngineEvents = {
  /** Once per engine given up, however many streams saw it fail. */
  fallback: [fallback: AsrFallback];
};

export interface FallbackAsrEngineOptions {
  /** In order of preference; at least one. */
  engines: readonly AsrEngine[];
  /** How much recent audio a stream keeps for the next engine to hear again (default 20 s). */
  replayMs?: number;
}

const DEFAULT_REPLAY_MS = 20_000;

/**
 * Speech engines in order of preference: when one fails for good (a non-retryable error, or its
 * open() throws), the next takes over, in the middle of a stream and for every stream opened after.
 * It hears again the audio since the last final, so the words of the utterance in progress are not
 * lost. A retryable error is passed on: the caller reopens, and the same engine is tried again.
 */
export class FallbackAsrEngine extends TypedEmitter<FallbackAsrEngineEvents> implements AsrEngine {
  private readonly engines: readonly AsrEngine[];
  private readonly replayMs: number;
  /** The first engine not given up yet; the last engine is never given up. */
  private active = 0;

  constructor(options: FallbackAsrEngineOptions) {
    super();
    if (options.engines.length === 0) throw new Error('FallbackAsrEngine needs at least one engine');
    this.engines = [...options.engines];
    this.replayMs = options.replayMs ?? DEFAULT_REPLAY_MS;
  }

  /** The engine new streams start with. */
  get current(): AsrEngine {
    return this.engines[this.active]!;
  }

  get name(): string {
    return this.current.name;
  }

  get version(): string {
    return this.current.version;
  }

  open(options: AsrOpenOptions): FallbackAsrStream {
    return new FallbackAsrStream({ engine: this, sampleRate: options.sampleRate, replayMs: this.replayMs });
  }

  /**
   * Opens a stream on the engine at `index` or, when that open() throws, on the next ones. Throws the
   * last engine's error when none opens. For FallbackAsrStream.
   */
  openFrom(index: number, options: AsrOpenOptions): { index: number; engine: AsrEngine; stream: AsrStream } {
    for (let at = Math.max(index, this.active); ; at++) {
      const engine = this.engines[at]!;
      try {
        return { index: at, engine, stream: engine.open(options) };
      } catch (error) {
        if (error instanceof RangeError || at === this.engines.length - 1) throw error;
        this.giveUp(at, new AsrError('engine_unavailable', `${engine.name} could not open a stream: ${error instanceof Error ? error.message : String(error)}`, false));
      }
    }
  }

  /** Whether an engine after `index` is left to take over. */
  hasAfter(index: number): boolean {
    return index < this.engines.length - 1;
  }

  /** The engine at `index` failed for good: later streams start after it; reported the first time. */
  giveUp(index: number, error: AsrError): void {
    if (index < this.active || !this.hasAfter(index)) return;
    this.active = index + 1;
    const from = this.engines[index]!;
    const to = this.engines[index + 1]!;
    this.safeEmit('fallback', { from: { name: from.name, version: from.version }, to: { name: to.name, version: to.version }, error });
  }
}
