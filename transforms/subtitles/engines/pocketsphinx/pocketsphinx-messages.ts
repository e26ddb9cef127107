import type { AsrResult } from '../../asr-engine.js';
import type { RecognizerOptions, RecognizerStats } from './pocketsphinx-recognizer.js';

/** workerData of a PocketSphinx worker. */
export type PocketSphinxWorkerData = RecognizerOptions;

/** Caller's thread → worker. */
export type PocketSphinxInput =
  | { type: 'audio'; pcm: Int16Array }
  | { type: 'end' }
  | { type: 'cancel' }
  /** Decode with this speaker transform (an MLLR file) from the next utterance on. */
  | { type: 'adapt'; file: string }
  /** Throws inside the worker, as a bug would: lets tests exercise the crash path for real. */
  | { type: 'crash' };

/** Worker → caller's thread. */
export type PocketSphinxOutput =
  | { type: 'ready' }
  | { type: 'partial'; result: AsrResult }
  | { type: 'final'; result: AsrResult }
  /** Audio processed so far, in 16 kHz samples, for back-pressure. */
  | { type: 'processed'; samples: number }
  | { type: 'ended'; stats: RecognizerStats }
  /** The transform of an `adapt` is in use (error: it could not be applied). */
  | { type: 'adapted'; file: string; error?: string }
  | { type: 'failed'; message: string; retryable: boolean };
