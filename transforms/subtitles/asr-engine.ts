import type { ProcessRunner } from '../../core/process/process-runner.js';
import type { AsrError } from './asr-error.js';

/** One recognised word; times are milliseconds from the stream's first sample. */
export interface AsrWord {
  word: string;
  startMs: number;
  endMs: number;
  /** 0..1 where the engine gives one. */
  conf?: number;
}

/** A hypothesis: a partial may still change; a final is committed and never revised. */
export interface AsrResult {
  text: string;
  words: AsrWord[];
}

export type AsrStreamEvents = {
  /** The best guess so far for the utterance in progress; replaces the previous partial. */
  partial: [result: AsrResult];
  /** The utterance is over; its words are committed. Replaces the partials before it. */
  final: [result: AsrResult];
  /** Below the high-water mark again after write() returned false. */
  drain: [];
  /** The engine failed; the stream is closed. `error.retryable`: opening a new stream may work. */
  error: [error: AsrError];
  /** An engine that adapts to the speaker as it listens did so (from the next utterance on), or could not. */
  adaptation: [outcome: SpeakerAdaptationOutcome];
};

/** What adapting to a speaker did: applied, with the seconds of speech it learnt from, or why not. */
export type SpeakerAdaptationOutcome = { applied: true; speechS: number } | { applied: false; reason: string };

export interface AsrOpenOptions {
  /** Of the PCM given to write(); engines resample to what they need. */
  sampleRate: number;
}

/**
 * One utterance stream: mono signed 16-bit PCM in, results out. A change of sample rate or
 * channel count means ending this stream and opening another.
 */
export interface AsrStream {
  on<E extends keyof AsrStreamEvents & string>(event: E, listener: (...args: AsrStreamEvents[E]) => void): this;
  once<E extends keyof AsrStreamEvents & string>(event: E, listener: (...args: AsrStreamEvents[E]) => void): this;
  off<E extends keyof AsrStreamEvents & string>(event: E, listener: (...args: AsrStreamEvents[E]) => void): this;
  /**
   * Queues audio (copied: the caller may reuse its buffer). Returns false once the engine is more
   * than its high-water mark behind; a caller that can wait (a file) waits for `drain`, a live one need not.
   */
  write(pcm: Int16Array): boolean;
  /** No more audio: resolves after the last final has been emitted, then the stream is closed. */
  end(): Promise<void>;
  /** Drops the utterance in progress without a final (e.g. after a discontinuity); the stream stays open. */
  cancel(): void;
  /** Stops at once: no more events; idempotent; resolves when the engine's thread or process is gone. */
  close(): Promise<void>;
  readonly closed: boolean;
}

/** A speech recogniser: PocketSphinx in-process, or any program speaking the command contract. */
export interface AsrEngine {
  readonly name: string;
  readonly version: string;
  open(options: AsrOpenOptions): AsrStream;
}

/** One utterance of a speaker for adaptation: 16 kHz mono PCM and the words decoded from it. */
export interface AdaptationSample {
  pcm: Int16Array;
  words: readonly string[];
}

/** Audio kept either side of an utterance's words in its adaptation sample, so the alignment has its silences. */
const ADAPTATION_MARGIN_MS = 250;

/**
 * Where an utterance's adaptation sample starts and ends, in samples at `sampleRate` from the stream's
 * first sample: its first word to its last, with ADAPTATION_MARGIN_MS either side (the caller clips the
 * end to the audio it has). Undefined for an utterance without words.
 */
export function adaptationSpan(result: AsrResult, sampleRate: number): { start: number; end: number } | undefined {
  const first = result.words[0];
  const last = result.words.at(-1);
  if (!first || !last) return undefined;
  const perMs = sampleRate / 1000;
  return { start: Math.max(0, Math.round((first.startMs - ADAPTATION_MARGIN_MS) * perMs)), end: Math.round((last.endMs + ADAPTATION_MARGIN_MS) * perMs) };
}

/** An engine adapted to one speaker; dispose() removes what the adaptation wrote. */
export interface AdaptedAsrEngine extends AsrEngine {
  /** Seconds of speech the adaptation learnt from (rounded to 0.1 s). */
  readonly speechS: number;
  dispose(): Promise<void>;
}

export interface AdaptOptions {
  signal?: AbortSignal;
  /** Starts the engine's tools, if it runs any (default: a runner of its own). */
  runner?: ProcessRunner;
}

/**
 * An engine that can adapt to a speaker from their speech and its own first-pass words (no reference
 * text). Rejects with a reason when it cannot (tools missing, too little speech).
 */
export interface SpeakerAdaptableAsrEngine extends AsrEngine {
  adaptTo(samples: readonly AdaptationSample[], options?: AdaptOptions): Promise<AdaptedAsrEngine>;
}

export function isSpeakerAdaptable(engine: AsrEngine): engine is SpeakerAdaptableAsrEngine {
  return typeof (engine as Partial<SpeakerAdaptableAsrEngine>).adaptTo === 'function';
}
