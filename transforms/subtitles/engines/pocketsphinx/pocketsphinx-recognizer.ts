import type { AsrResult, AsrWord } from '../../asr-engine.js';
import { BlockAccumulator } from '../../../../core/media/block-accumulator.js';
import { EnergyGate, type EnergyGateOptions } from '../../energy-gate.js';
import { POCKETSPHINX_SAMPLE_RATE, PocketSphinxDecoder, type PocketSphinxDecoderOptions } from './pocketsphinx-library.js';

/** The recognizer hears 16 kHz PCM (POCKETSPHINX_SAMPLE_RATE): the stream resamples before posting it. */
export interface RecognizerOptions extends PocketSphinxDecoderOptions {
  /** How often the hypothesis of an utterance in progress is read for a partial. */
  partialIntervalMs?: number;
  /** An utterance this long is cut into a final even without a pause, so captions get committed. */
  maxUtteranceMs?: number;
  /** The energy gate; false decodes everything (for measuring what the gate saves). */
  gate?: EnergyGateOptions | false;
  /** Audio kept from before the gate opens, so the first syllable is not lost (default 500 ms). */
  preRollMs?: number;
  /**
   * The gate stays open this long after the last loud block (default 2 s): pauses between
   * sentences still reach the decoder, whose noise estimate needs them; only long silence is skipped.
   */
  hangoverMs?: number;
  /**
   * The first audio of a stream always reaches the decoder (default 2 s), so its noise estimate
   * has settled before the first sentence; words found there without the gate hearing speech are dropped.
   */
  warmUpMs?: number;
}

export interface RecognizerStats {
  /** Audio written, in ms. */
  audioMs: number;
  /** Audio that reached the decoder, in ms (the rest was gated out as silence). */
  decodedAudioMs: number;
  /** Wall time inside libpocketsphinx, in ms: on one core that is its CPU time. */
  decoderMs: number;
  utterances: number;
}

export type RecognizerOutput = (kind: 'partial' | 'final', result: AsrResult) => void;

const BLOCK_MS = 100;
/** A word may start this long after the last block the gate found speech-like (the gate looks at a 1 s window). */
const WORD_ONSET_SLACK_MS = 300;
const SAMPLES_PER_MS = POCKETSPHINX_SAMPLE_RATE / 1000;

/**
 * Drives one PocketSphinx decoder over a PCM stream: 100 ms blocks, an energy gate in front,
 * utterances ended by PocketSphinx's VAD, partials about every partialIntervalMs, finals with
 * per-word times. Synchronous; runs inside the ASR worker thread.
 */
export class PocketSphinxRecognizer {
  private readonly decoder: PocketSphinxDecoder;
  private readonly gate: EnergyGate | undefined;
  private readonly blocks = new BlockAccumulator(new Int16Array(BLOCK_MS * SAMPLES_PER_MS), (block) => this.processBlock(block));
  private readonly preRoll: Int16Array[];
  private preRollCount = 0;
  private readonly partialIntervalSamples: number;
  private readonly maxUtteranceSamples: number;
  /** Samples (at 16 kHz) since the stream's first sample, up to the end of the last whole block. */
  private streamSamples = 0;
  private inUtterance = false;
  private utteranceStartSample = 0;
  /** decodedSamples when the utterance started: frame numbers count decoded samples only. */
  private utteranceDecodedStart = 0;
  private heardSpeech = false;
  private readonly hangoverSamples: number;
  private readonly warmUpSamples: number;
  private lastVoicedSample = Number.NEGATIVE_INFINITY;
  private samplesSincePartial = 0;
  private lastPartialText = '';
  private decodedSamples = 0;
  private decoderMs = 0;
  private utterances = 0;
  private isClosed = false;
  /** A speaker transform waiting for the utterance in progress to end, and who to tell. */
  private pendingTransform: { file: string; done: (error?: Error) => void } | undefined;

  constructor(
    options: RecognizerOptions,
    private readonly output: RecognizerOutput,
  ) {
    this.decoder = new PocketSphinxDecoder(options);
    // One stream for the whole input: restarting it per utterance would reset the noise estimate.
    this.decoder.startStream();
    this.gate = options.gate === false ? undefined : new EnergyGate(options.gate ?? {});
    this.hangoverSamples = (options.hangoverMs ?? 2000) * SAMPLES_PER_MS;
    this.warmUpSamples = (options.warmUpMs ?? 2000) * SAMPLES_PER_MS;
    this.preRoll = Array.from({ length: Math.ceil((options.preRollMs ?? 500) / BLOCK_MS) }, () => new Int16Array(this.blocks.block.length));
    this.partialIntervalSamples = (options.partialIntervalMs ?? 500) * SAMPLES_PER_MS;
    this.maxUtteranceSamples = (options.maxUtteranceMs ?? 15_000) * SAMPLES_PER_MS;
  }

  get stats(): RecognizerStats {
    return {
      audioMs: (this.streamSamples + this.blocks.filled) / SAMPLES_PER_MS,
      decodedAudioMs: this.decodedSamples / SAMPLES_PER_MS,
      decoderMs: Math.round(this.decoderMs),
      utterances: this.utterances,
    };
  }

  /** 16 kHz mono PCM. */
  write(samples: Int16Array): void {
    this.blocks.write(samples);
  }

  /** The end of the audio: decodes what is left and emits the last final. */
  finish(): void {
    if (this.blocks.filled > 0) {
      const rest = this.blocks.block.subarray(0, this.blocks.filled);
      if (!this.inUtterance && this.gate?.test(rest, POCKETSPHINX_SAMPLE_RATE) !== false) this.startUtterance();
      if (this.inUtterance) this.feed(rest);
      this.streamSamples += this.blocks.filled;
      this.blocks.reset();
    }
    if (this.inUtterance) this.endUtterance(true);
  }

  /** Drops the utterance in progress: no final for it. */
  cancel(): void {
    if (this.inUtterance) this.endUtterance(false);
    // The dropped samples still count, so later times stay measured from the stream's first sample.
    this.streamSamples += this.blocks.filled;
    this.blocks.reset();
    this.preRollCount = 0;
  }

  /**
   * Decodes with a speaker's MLLR transform from the next utterance on (at once between utterances);
   * `done` is called when it is applied, with the error if it could not be. A newer call replaces a
   * transform still waiting.
   */
  adapt(file: string, done: (error?: Error) => void): void {
    this.pendingTransform?.done(new Error('replaced by a newer speaker transform'));
    this.pendingTransform = { file, done };
    if (!this.inUtterance) this.applyPendingTransform();
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.pendingTransform?.done(new Error('the stream closed first'));
    this.pendingTransform = undefined;
    this.decoder.close();
  }

  private applyPendingTransform(): void {
    const pending = this.pendingTransform;
    if (!pending) return;
    this.pendingTransform = undefined;
    try {
      this.timed(() => this.decoder.applyTransform(pending.file));
      pending.done();
    } catch (error) {
      pending.done(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private processBlock(block: Int16Array): void {
    if (!this.gate || this.gate.test(block, POCKETSPHINX_SAMPLE_RATE)) this.lastVoicedSample = this.streamSamples;
    const open = this.streamSamples < this.warmUpSamples || this.streamSamples - this.lastVoicedSample < this.hangoverSamples;
    if (!this.inUtterance) {
      if (!open) {
        this.keepPreRoll(block);
        this.streamSamples += block.length;
        return;
      }
      this.startUtterance();
    }
    this.feed(block);
    this.streamSamples += block.length;
    const inSpeech = this.timed(() => this.decoder.inSpeech);
    if (inSpeech) this.heardSpeech = true;
    const utteranceSamples = this.streamSamples - this.utteranceStartSample;
    if (this.heardSpeech && !inSpeech) this.endUtterance(true);
    else if (utteranceSamples >= this.maxUtteranceSamples) this.endUtterance(true);
    // Nothing speech-like for the whole hangover (silence, or music PocketSphinx takes for speech): stop decoding.
    else if (!open) this.endUtterance(true);
    else if (this.heardSpeech) {
      this.samplesSincePartial += block.length;
      // Until an utterance shows its first words, look every block: the first caption matters most.
      if (this.lastPartialText === '' || this.samplesSincePartial >= this.partialIntervalSamples) {
        this.samplesSincePartial = 0;
        this.emitPartial();
      }
    }
  }

  private keepPreRoll(block: Int16Array): void {
    if (this.preRoll.length === 0) return;
    // Shift the oldest block out; the ring is a few blocks, so rotating references is cheap.
    const oldest = this.preRoll.shift()!;
    oldest.set(block);
    this.preRoll.push(oldest);
    this.preRollCount = Math.min(this.preRoll.length, this.preRollCount + 1);
  }

  private startUtterance(): void {
    this.timed(() => this.decoder.startUtterance());
    this.inUtterance = true;
    this.heardSpeech = false;
    this.samplesSincePartial = 0;
    this.lastPartialText = '';
    const kept = this.preRoll.slice(this.preRoll.length - this.preRollCount);
    this.preRollCount = 0;
    this.utteranceStartSample = this.streamSamples - kept.length * this.blocks.block.length;
    this.utteranceDecodedStart = this.decodedSamples;
    for (const block of kept) this.feed(block);
  }

  private feed(samples: Int16Array): void {
    this.timed(() => this.decoder.process(samples));
    this.decodedSamples += samples.length;
  }

  private emitPartial(): void {
    const hypothesis = this.timed(() => this.decoder.hypothesis());
    if (hypothesis.length === 0) return;
    const timed = this.heard(this.timed(() => this.decoder.words(this.frameOffsetMs())));
    // Mid-utterance the segment list can lag the hypothesis; then the words share the utterance's span.
    const words = timed.length > 0 ? timed : this.heard(spread(hypothesis, this.utteranceStartSample / SAMPLES_PER_MS, this.streamSamples / SAMPLES_PER_MS));
    const text = words.map((word) => word.word).join(' ');
    if (text === '' || text === this.lastPartialText) return;
    this.lastPartialText = text;
    this.output('partial', { text, words });
  }

  private endUtterance(emit: boolean): void {
    this.timed(() => this.decoder.endUtterance());
    this.inUtterance = false;
    this.utterances++;
    if (!emit) {
      this.applyPendingTransform();
      return;
    }
    const words = this.heard(this.timed(() => this.decoder.words(this.frameOffsetMs())));
    this.applyPendingTransform();
    if (words.length === 0 && this.lastPartialText === '') return;
    // An utterance whose partials showed words but whose final has none still ends with a final, so captions clear.
    this.output('final', { text: words.map((word) => word.word).join(' '), words });
  }

  /**
   * Drops words the decoder found where the gate heard nothing speech-like (music or a tone that
   * PocketSphinx's VAD took for speech): only words starting by the end of the last voiced block count.
   */
  private heard(words: AsrWord[]): AsrWord[] {
    if (!this.gate) return words;
    const limitMs = (this.lastVoicedSample + this.blocks.block.length) / SAMPLES_PER_MS + WORD_ONSET_SLACK_MS;
    return words.filter((word) => word.startMs <= limitMs);
  }

  /** What to add to a frame's ms (counted over decoded samples) to get ms since the stream's first sample. */
  private frameOffsetMs(): number {
    return (this.utteranceStartSample - this.utteranceDecodedStart) / SAMPLES_PER_MS;
  }

  private timed<T>(work: () => T): T {
    const start = performance.now();
    try {
      return work();
    } finally {
      this.decoderMs += performance.now() - start;
    }
  }
}

/** Words without times from the decoder get the utterance's span shared out evenly. */
function spread(words: string[], startMs: number, endMs: number): AsrWord[] {
  const each = (endMs - startMs) / Math.max(1, words.length);
  return words.map((word, index) => ({ word, startMs: Math.round(startMs + index * each), endMs: Math.round(startMs + (index + 1) * each) }));
}
