import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import type { AsrWord } from '../../asr-engine.js';

// koffi ships as CommonJS with a native addon; createRequire keeps the ESM build simple.
const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');

/** Where Debian's pocketsphinx-en-us puts the US English model. */
export const DEBIAN_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

export interface PocketSphinxModel {
  /** Acoustic model directory (-hmm). */
  acousticModel: string;
  /** N-gram language model (-lm). */
  languageModel: string;
  /** Pronunciation dictionary (-dict). */
  dictionary: string;
}

export const DEBIAN_MODEL: PocketSphinxModel = {
  acousticModel: `${DEBIAN_MODEL_DIR}/en-us`,
  languageModel: `${DEBIAN_MODEL_DIR}/en-us.lm.bin`,
  dictionary: `${DEBIAN_MODEL_DIR}/cmudict-en-us.dict`,
};

/**
 * Front-end settings beyond the model's feat.params, shared by the decoder and by speaker adaptation
 * (whose features must be the decoder's). Frequencies are stretched about 9 % up (f / 0.92) before the
 * mel filters. Tuned on the speech benchmark's tuning sets (issue 17 §3): voices unlike the model's
 * training speakers (flite kal, espeak-ng) lost 3–4 points of WER, the others moved 1–4 points either
 * way (benchmarks/README.md). One setting for every speaker: nothing here depends on who speaks.
 */
export const FRONT_END_ARGS: readonly (readonly [string, string])[] = [
  ['-warp_type', 'inverse_linear'],
  ['-warp_params', '0.92'],
];

/** The model's only rate; other input is resampled. */
export const POCKETSPHINX_SAMPLE_RATE = 16000;
/** PocketSphinx counts in 10 ms feature frames. */
const FRAME_MS = 10;

type Pointer = unknown;
type NativeFunction = (...args: unknown[]) => unknown;

interface Bindings {
  ps_args: NativeFunction;
  cmd_ln_init: NativeFunction;
  cmd_ln_free_r: NativeFunction;
  ps_init: NativeFunction;
  ps_free: NativeFunction;
  ps_start_stream: NativeFunction;
  ps_start_utt: NativeFunction;
  ps_process_raw: NativeFunction;
  ps_end_utt: NativeFunction;
  ps_get_in_speech: NativeFunction;
  ps_get_hyp: NativeFunction;
  ps_get_logmath: NativeFunction;
  ps_seg_iter: NativeFunction;
  ps_seg_next: NativeFunction;
  ps_seg_word: NativeFunction;
  ps_seg_frames: NativeFunction;
  ps_seg_prob: NativeFunction;
  logmath_exp: NativeFunction;
  ps_mllr_read: NativeFunction;
  ps_update_mllr: NativeFunction;
}

let bindings: Bindings | undefined;

function loadBindings(): Bindings {
  if (bindings) return bindings;
  const sphinxbase = koffi.load('libsphinxbase.so.3');
  const pocketsphinx = koffi.load('libpocketsphinx.so.3');
  const ps = (signature: string): NativeFunction => pocketsphinx.func(signature) as NativeFunction;
  const sb = (signature: string): NativeFunction => sphinxbase.func(signature) as NativeFunction;
  bindings = {
    ps_args: ps('void *ps_args()'),
    cmd_ln_init: sb('void *cmd_ln_init(void *inout, void *defn, int strict, ...)'),
    cmd_ln_free_r: sb('int cmd_ln_free_r(void *config)'),
    ps_init: ps('void *ps_init(void *config)'),
    ps_free: ps('int ps_free(void *ps)'),
    ps_start_stream: ps('int ps_start_stream(void *ps)'),
    ps_start_utt: ps('int ps_start_utt(void *ps)'),
    ps_process_raw: ps('int ps_process_raw(void *ps, const int16_t *data, size_t samples, int no_search, int full_utt)'),
    ps_end_utt: ps('int ps_end_utt(void *ps)'),
    ps_get_in_speech: ps('uint8_t ps_get_in_speech(void *ps)'),
    ps_get_hyp: ps('const char *ps_get_hyp(void *ps, _Out_ int32_t *score)'),
    ps_get_logmath: ps('void *ps_get_logmath(void *ps)'),
    ps_seg_iter: ps('void *ps_seg_iter(void *ps)'),
    ps_seg_next: ps('void *ps_seg_next(void *seg)'),
    ps_seg_word: ps('const char *ps_seg_word(void *seg)'),
    ps_seg_frames: ps('void ps_seg_frames(void *seg, _Out_ int *start, _Out_ int *end)'),
    ps_seg_prob: ps('int32_t ps_seg_prob(void *seg, _Out_ int32_t *ascr, _Out_ int32_t *lscr, _Out_ int32_t *lback)'),
    logmath_exp: sb('double logmath_exp(void *logmath, int logb_p)'),
    ps_mllr_read: ps('void *ps_mllr_read(const char *file)'),
    ps_update_mllr: ps('void *ps_update_mllr(void *ps, void *mllr)'),
  };
  return bindings;
}

export interface PocketSphinxDecoderOptions {
  model?: PocketSphinxModel;
  /** Frames of non-speech after which PocketSphinx's VAD says speech is over (10 ms each). */
  postSpeechFrames?: number;
  /** More PocketSphinx arguments, e.g. { '-vad_threshold': '3.0' }; they override the ones above. */
  decoderArgs?: Record<string, string>;
}

/** Fillers and markers PocketSphinx puts in a hypothesis: <s>, </s>, <sil>, [NOISE], +breath+. */
function isFiller(word: string): boolean {
  return word.startsWith('<') || word.startsWith('[') || word.startsWith('+');
}

/** "read(2)" is the second pronunciation of "read": the text is the same word. */
function baseWord(word: string): string {
  return word.replace(/\(\d+\)$/, '');
}

/** Turns a raw hypothesis string into the words a viewer should read. */
export function cleanHypothesis(hypothesis: string | null): string[] {
  if (!hypothesis) return [];
  return hypothesis.split(/\s+/).filter((word) => word !== '' && !isFiller(word)).map(baseWord);
}

/**
 * One PocketSphinx decoder through koffi (libpocketsphinx.so.3 from Debian, no native build).
 * Synchronous and CPU-bound: it belongs in a worker thread.
 */
export class PocketSphinxDecoder {
  private readonly native: Bindings;
  private config: Pointer;
  private decoder: Pointer;
  private readonly logmath: Pointer;
  private isClosed = false;
  private readonly scoreOut = [0];
  private readonly startOut = [0];
  private readonly endOut = [0];
  private readonly ascrOut = [0];
  private readonly lscrOut = [0];
  private readonly lbackOut = [0];

  constructor(options: PocketSphinxDecoderOptions = {}) {
    const model = options.model ?? DEBIAN_MODEL;
    for (const [what, file] of [['acoustic model', model.acousticModel], ['language model', model.languageModel], ['dictionary', model.dictionary]] as const) {
      if (!existsSync(file)) throw new Error(`PocketSphinx ${what} not found at ${file} (install pocketsphinx-en-us)`);
    }
    this.native = loadBindings();
    const text = (value: string): [string, string] => ['str', value];
    const settings = new Map<string, string>([
      ['-hmm', model.acousticModel],
      ['-lm', model.languageModel],
      ['-dict', model.dictionary],
      ['-samprate', String(POCKETSPHINX_SAMPLE_RATE)],
      ['-vad_postspeech', String(options.postSpeechFrames ?? 40)],
      ...FRONT_END_ARGS,
      // The library logs every utterance to stderr; nothing of it is useful to an operator.
      ['-logfn', '/dev/null'],
      ...Object.entries(options.decoderArgs ?? {}),
    ]);
    this.config = this.native.cmd_ln_init(
      null,
      this.native.ps_args(),
      1,
      ...[...settings].flatMap(([name, value]) => [...text(name), ...text(value)]),
      'str', null,
    );
    if (!this.config) throw new Error('PocketSphinx rejected its configuration');
    this.decoder = this.native.ps_init(this.config);
    if (!this.decoder) {
      this.native.cmd_ln_free_r(this.config);
      throw new Error(`PocketSphinx could not load the model in ${model.acousticModel}`);
    }
    this.logmath = this.native.ps_get_logmath(this.decoder);
  }

  /**
   * Starts a new stream: frame numbers count from here again, and the noise and VAD estimates
   * start over. Within a stream, frames count every sample fed, across utterances.
   */
  startStream(): void {
    if ((this.native.ps_start_stream(this.decoder) as number) < 0) throw new Error('ps_start_stream failed');
  }

  startUtterance(): void {
    if ((this.native.ps_start_utt(this.decoder) as number) < 0) throw new Error('ps_start_utt failed');
  }

  process(samples: Int16Array): void {
    if ((this.native.ps_process_raw(this.decoder, samples, samples.length, 0, 0) as number) < 0) throw new Error('ps_process_raw failed');
  }

  /** Whether PocketSphinx's own VAD is inside speech now. */
  get inSpeech(): boolean {
    return (this.native.ps_get_in_speech(this.decoder) as number) !== 0;
  }

  /** The current best hypothesis, cleaned of fillers. */
  hypothesis(): string[] {
    return cleanHypothesis(this.native.ps_get_hyp(this.decoder, this.scoreOut) as string | null);
  }

  endUtterance(): void {
    if ((this.native.ps_end_utt(this.decoder) as number) < 0) throw new Error('ps_end_utt failed');
  }

  /** Words of the last (or current) hypothesis and posterior confidences; times are frame ms plus offsetMs. */
  words(offsetMs: number): AsrWord[] {
    const words: AsrWord[] = [];
    let segment = this.native.ps_seg_iter(this.decoder);
    while (segment) {
      const raw = this.native.ps_seg_word(segment) as string;
      if (!isFiller(raw)) {
        this.native.ps_seg_frames(segment, this.startOut, this.endOut);
        const probability = this.native.ps_seg_prob(segment, this.ascrOut, this.lscrOut, this.lbackOut) as number;
        const conf = this.native.logmath_exp(this.logmath, probability) as number;
        words.push({
          word: baseWord(raw),
          startMs: offsetMs + this.startOut[0]! * FRAME_MS,
          endMs: offsetMs + (this.endOut[0]! + 1) * FRAME_MS,
          conf: Math.round(Math.min(1, Math.max(0, conf)) * 1000) / 1000,
        });
      }
      // ps_seg_next frees the iterator when it returns NULL.
      segment = this.native.ps_seg_next(segment);
    }
    return words;
  }

  /**
   * Adapts the acoustic model with an MLLR transform file (speaker-adaptation.ts). The transform
   * applies to the model as loaded, so a later one replaces this one. Call between utterances.
   */
  applyTransform(file: string): void {
    const mllr = this.native.ps_mllr_read(file);
    if (!mllr) throw new Error(`PocketSphinx could not read the speaker transform ${file}`);
    // The decoder takes the transform over (it frees it when replaced or at ps_free), as ps_init does
    // with -mllr: freeing it here too corrupts the heap (a crash at the stream's end).
    if (!this.native.ps_update_mllr(this.decoder, mllr)) throw new Error('PocketSphinx could not apply the speaker transform');
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.native.ps_free(this.decoder);
    this.native.cmd_ln_free_r(this.config);
    this.decoder = null;
    this.config = null;
  }
}
