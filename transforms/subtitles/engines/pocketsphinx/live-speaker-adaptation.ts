import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProcessRunner } from '../../../../core/process/process-runner.js';
import { adaptationSpan, type AdaptationSample, type AsrResult, type SpeakerAdaptationOutcome } from '../../asr-engine.js';
import { POCKETSPHINX_SAMPLE_RATE, type PocketSphinxModel } from './pocketsphinx-library.js';
import { estimateSpeakerTransform } from './speaker-adaptation.js';

export interface LiveAdaptationOptions {
  /**
   * Adapt when this much recognised speech has been heard (ms), once per entry, in rising order; each
   * later one learns from all the speech so far, decoded by the adapted model. Default [30 s, 120 s].
   */
  afterSpeechMs?: readonly number[];
  model: PocketSphinxModel;
  /** The decoder's front-end settings beyond feat.params (speaker-adaptation.ts). */
  frontEnd: readonly (readonly [string, string])[];
  runner?: ProcessRunner;
  /** Where each estimate gets its temporary folder (default: the OS's temp dir). */
  scratchDir?: string;
}

export const LIVE_ADAPTATION_AFTER_MS: readonly number[] = [30_000, 120_000];
/** Audio kept for cutting out an utterance once its final arrives: longer than the longest utterance plus the worker's lag. */
const RING_MS = 60_000;
const SAMPLES_PER_MS = POCKETSPHINX_SAMPLE_RATE / 1000;

/**
 * Speaker adaptation while a stream is live (the caller's side of a PocketSphinx stream): keeps the
 * last minute of 16 kHz audio in a ring, cuts each final's words out of it, and once enough speech has
 * been recognised estimates an MLLR transform (SphinxTrain's tools in child processes, off the audio
 * path) and hands it to the decoder, which uses it from its next utterance. Stops after the last
 * threshold (its buffers are released) or the first failure (reported once).
 */
export class LiveSpeakerAdaptation {
  private ring: Int16Array = new Int16Array(RING_MS * SAMPLES_PER_MS);
  /** Samples written since the stream's first sample (word times are measured from there). */
  private written = 0;
  private samples: AdaptationSample[] = [];
  private speechMs = 0;
  private next = 0;
  private readonly thresholds: readonly number[];
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly options: LiveAdaptationOptions,
    /** Hands a transform file to the decoder; resolves once it is in use. */
    private readonly apply: (file: string) => Promise<void>,
    private readonly report: (outcome: SpeakerAdaptationOutcome) => void,
  ) {
    this.thresholds = options.afterSpeechMs ?? LIVE_ADAPTATION_AFTER_MS;
    if (this.thresholds.length === 0) this.stop();
  }

  /** 16 kHz audio, as posted to the decoder. Copies into the ring; allocates nothing. */
  audio(pcm: Int16Array): void {
    if (this.stopped) return;
    const size = this.ring.length;
    let from = 0;
    // Only the ring's worth of a (huge) write matters.
    if (pcm.length > size) from = pcm.length - size;
    let at = (this.written + from) % size;
    while (from < pcm.length) {
      const take = Math.min(size - at, pcm.length - from);
      this.ring.set(pcm.subarray(from, from + take), at);
      from += take;
      at = (at + take) % size;
    }
    this.written += pcm.length;
  }

  /** A final from the decoder: its audio and words become a sample; may start an estimate. */
  final(result: AsrResult): void {
    if (this.stopped) return;
    const span = adaptationSpan(result, POCKETSPHINX_SAMPLE_RATE);
    if (!span) return;
    const { start } = span;
    const end = Math.min(this.written, span.end);
    // Already overwritten (the decoder lagged more than the ring holds): skip this one.
    if (end <= start || start < this.written - this.ring.length) return;
    const pcm = new Int16Array(end - start);
    for (let sample = start, at = 0; sample < end; ) {
      const offset = sample % this.ring.length;
      const take = Math.min(this.ring.length - offset, end - sample);
      pcm.set(this.ring.subarray(offset, offset + take), at);
      sample += take;
      at += take;
    }
    this.samples.push({ pcm, words: result.words.map((word) => word.word) });
    this.speechMs += pcm.length / SAMPLES_PER_MS;
    if (!this.running && this.speechMs >= this.thresholds[this.next]!) this.running = this.adapt().finally(() => (this.running = undefined));
  }

  /** Stops any estimate in progress (its tools are killed) and waits for its files to be removed. */
  async close(): Promise<void> {
    this.stop();
    this.abort.abort();
    await this.running;
  }

  private async adapt(): Promise<void> {
    const samples = [...this.samples];
    const speechS = Math.round(this.speechMs / 100) / 10;
    this.next += 1;
    const last = this.next >= this.thresholds.length;
    if (last) this.stop();
    const workDir = await mkdtemp(path.join(this.options.scratchDir ?? tmpdir(), 'livefx-speaker-'));
    try {
      const transform = await estimateSpeakerTransform(samples, {
        model: this.options.model,
        runner: this.options.runner ?? new ProcessRunner({ label: 'speech' }),
        workDir,
        frontEnd: this.options.frontEnd,
        signal: this.abort.signal,
      });
      if (this.abort.signal.aborted) return;
      await this.apply(transform);
      this.report({ applied: true, speechS });
    } catch (error) {
      if (this.abort.signal.aborted) return;
      this.stop();
      this.report({ applied: false, reason: error instanceof Error ? error.message : String(error) });
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private stop(): void {
    this.stopped = true;
    this.samples = [];
    this.ring = new Int16Array(0);
  }
}
