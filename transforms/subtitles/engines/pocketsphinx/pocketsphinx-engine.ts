import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessRunner } from '../../../../core/process/process-runner.js';
import type { AdaptationSample, AdaptedAsrEngine, AdaptOptions, AsrOpenOptions, SpeakerAdaptableAsrEngine } from '../../asr-engine.js';
import type { EnergyGateOptions } from '../../energy-gate.js';
import { DEBIAN_MODEL, FRONT_END_ARGS, type PocketSphinxModel } from './pocketsphinx-library.js';
import { PocketSphinxStream } from './pocketsphinx-stream.js';
import { adaptationSpeechMs, estimateSpeakerTransform, MAX_ADAPTATION_SPEECH_MS } from './speaker-adaptation.js';
import { LIVE_ADAPTATION_AFTER_MS } from './live-speaker-adaptation.js';

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
  /**
   * Adapt each stream to its speaker once this much speech has been recognised (ms, rising; each
   * later one learns from all the speech so far): live-speaker-adaptation.ts. Absent or empty: never.
   */
  adaptAfterSpeechMs?: readonly number[];
  /** Where speaker adaptation writes its temporary files (default: the OS's temp dir). */
  scratchDir?: string;
}

/**
 * Live captions' timing: a partial whenever the hypothesis changes (read every 100 ms block, so a word
 * shows about 0.1 s after it is said, not 0.25 s on average), and an utterance ends, with its final,
 * after 300 ms of non-speech. Files keep the defaults: nobody watches their partials. Live streams
 * adapt to their speaker after 30 s and again after 120 s of recognised speech (files decode twice instead).
 */
export const LIVE_CAPTION_TIMING: Pick<PocketSphinxEngineOptions, 'partialIntervalMs' | 'endOfSpeechMs' | 'adaptAfterSpeechMs'> = {
  partialIntervalMs: 100,
  endOfSpeechMs: 300,
  adaptAfterSpeechMs: LIVE_ADAPTATION_AFTER_MS,
};

/** Under vitest this module runs from source; a worker needs compiled JavaScript, which `npm run build` puts in dist/. */
function workerUrl(): URL {
  const beside = new URL('./pocketsphinx-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../../../dist/transforms/subtitles/engines/pocketsphinx/pocketsphinx-worker.js', import.meta.url);
}

/** CMU PocketSphinx 5prealpha (Debian's libpocketsphinx3) in a worker thread per stream. */
export class PocketSphinxEngine implements SpeakerAdaptableAsrEngine {
  readonly name = 'pocketsphinx';
  readonly version: string = '5prealpha';
  private readonly url = workerUrl();

  constructor(private readonly options: PocketSphinxEngineOptions = {}) {}

  /**
   * This engine with its acoustic model adapted to the speaker of `samples` (one MLLR transform,
   * speaker-adaptation.ts); rejects with SpeakerAdaptationError when it cannot adapt.
   */
  async adaptTo(samples: readonly AdaptationSample[], options: AdaptOptions = {}): Promise<AdaptedAsrEngine> {
    const workDir = await mkdtemp(path.join(this.options.scratchDir ?? tmpdir(), 'livefx-speaker-'));
    try {
      const decoderArgs = this.options.decoderArgs ?? {};
      const transform = await estimateSpeakerTransform(samples, {
        model: this.options.model ?? DEBIAN_MODEL,
        runner: options.runner ?? new ProcessRunner({ label: 'speech' }),
        workDir,
        frontEnd: this.frontEnd(),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      // Already adapted to the whole file: no live adaptation on top.
      const speechS = Math.round(Math.min(adaptationSpeechMs(samples), MAX_ADAPTATION_SPEECH_MS) / 100) / 10;
      return new AdaptedPocketSphinxEngine({ ...this.options, decoderArgs: { ...decoderArgs, '-mllr': transform }, adaptAfterSpeechMs: [] }, workDir, speechS);
    } catch (error) {
      await rm(workDir, { recursive: true, force: true });
      throw error;
    }
  }

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
      ...(this.options.adaptAfterSpeechMs?.length
        ? {
            adaptation: {
              afterSpeechMs: this.options.adaptAfterSpeechMs,
              model: this.options.model ?? DEBIAN_MODEL,
              frontEnd: this.frontEnd(),
              ...(this.options.scratchDir ? { scratchDir: this.options.scratchDir } : {}),
            },
          }
        : {}),
    });
  }

  /** The decoder's own front end, for adaptation's features: a benchmark's override of the warp applies to them too. */
  private frontEnd(): (readonly [string, string])[] {
    const decoderArgs = this.options.decoderArgs ?? {};
    return FRONT_END_ARGS.map(([name, value]) => [name, decoderArgs[name] ?? value] as const);
  }
}

/** A PocketSphinx engine decoding with a speaker's MLLR transform, which lives in `workDir` until dispose(). */
class AdaptedPocketSphinxEngine extends PocketSphinxEngine implements AdaptedAsrEngine {
  override readonly version = '5prealpha+mllr';

  constructor(
    options: PocketSphinxEngineOptions,
    private readonly workDir: string,
    readonly speechS: number,
  ) {
    super(options);
  }

  async dispose(): Promise<void> {
    await rm(this.workDir, { recursive: true, force: true });
  }
}
