import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AsrEngine, AsrOpenOptions } from '../../asr-engine.js';
import type { EnergyGateOptions } from '../../energy-gate.js';
import { DEBIAN_MODEL, type PocketSphinxModel } from './pocketsphinx-library.js';
import { PocketSphinxStream } from './pocketsphinx-stream.js';

export interface PocketSphinxEngineOptions {
  model?: PocketSphinxModel;
  /** How often a partial is read while someone speaks (default 500 ms). */
  partialIntervalMs?: number;
  /** Non-speech after which an utterance ends and its final comes (default 400 ms). */
  endOfSpeechMs?: number;
  /** Longest utterance before a final is forced (default 15 s). */
  maxUtteranceMs?: number;
  /** Energy gate settings; false turns the gate off. */
  gate?: EnergyGateOptions | false;
  /** More PocketSphinx arguments ({ '-vad_threshold': '3.0' }), for tuning. */
  decoderArgs?: Record<string, string>;
}

/**
 * Live captions' timing: a partial whenever the hypothesis changes (read every 100 ms block, so a word
 * shows about 0.1 s after it is said, not 0.25 s on average), and an utterance ends, with its final,
 * after 300 ms of non-speech. Files keep the defaults: nobody watches their partials.
 */
export const LIVE_CAPTION_TIMING: Pick<PocketSphinxEngineOptions, 'partialIntervalMs' | 'endOfSpeechMs'> = { partialIntervalMs: 100, endOfSpeechMs: 300 };

/** Under vitest this module runs from source; a worker needs compiled JavaScript, which `npm run build` puts in dist/. */
function workerUrl(): URL {
  const beside = new URL('./pocketsphinx-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../../../dist/transforms/subtitles/engines/pocketsphinx/pocketsphinx-worker.js', import.meta.url);
}

/** CMU PocketSphinx 5prealpha (Debian's libpocketsphinx3) in a worker thread per stream. */
export class PocketSphinxEngine implements AsrEngine {
  readonly name = 'pocketsphinx';
  readonly version = '5prealpha';
  private readonly url = workerUrl();

  constructor(private readonly options: PocketSphinxEngineOptions = {}) {}

  open(options: AsrOpenOptions): PocketSphinxStream {
    return new PocketSphinxStream({
      workerUrl: this.url,
      sampleRate: options.sampleRate,
      recognizer: {
        model: this.options.model ?? DEBIAN_MODEL,
        postSpeechFrames: Math.round((this.options.endOfSpeechMs ?? 400) / 10),
        ...(this.options.partialIntervalMs !== undefined ? { partialIntervalMs: this.options.partialIntervalMs } : {}),
        ...(this.options.maxUtteranceMs !== undefined ? { maxUtteranceMs: this.options.maxUtteranceMs } : {}),
        ...(this.options.gate !== undefined ? { gate: this.options.gate } : {}),
        ...(this.options.decoderArgs ? { decoderArgs: this.options.decoderArgs } : {}),
      },
    });
  }
}
