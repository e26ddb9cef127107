import type { AsrEngine, AsrResult, AsrStream, AsrWord } from '../../transforms/subtitles/asr-engine.js';
import { AsrError } from '../../transforms/subtitles/asr-error.js';
import { CaptionLayout, type CaptionCue } from '../../transforms/subtitles/caption-layout.js';
import { OpusPcmDecoder } from './opus-pcm-decoder.js';
import type { ProcessCrash } from '../../core/process/supervised-process.js';

const SAMPLE_RATE = 16000;
const CHUNK_SAMPLES = SAMPLE_RATE / 10;
const FIRST_REOPEN_MS = 250;
const MAX_REOPEN_MS = 5000;
/** How long closing waits for the engine's last final. */
const FLUSH_TIMEOUT_MS = 1500;
/** A cue stays on the picture this long after its end or its last change, whichever is later (it arrives after its words were said). */
const HOLD_MS = 2000;

/** A word on the server's clock (epoch ms). */
import type { LiveWord } from '../../core/live-media.js';

export type { LiveWord };

/** A caption cue on the server's clock (epoch ms); `lines: []` withdraws the cue of that id. */
export interface LiveCue {
  id: number;
  lines: string[];
  startMs: number;
  endMs: number;
  /** Shows words of a partial hypothesis: a later version of this cue (same id) settles or corrects them. */
  partial: boolean;
  /** Closed: never changes again. */
  final: boolean;
}

export interface LiveCaptionerOptions {
  ffmpegPath: string;
  engine: AsrEngine;
  restartBackoffMaxMs: number;
  /** A cue was created, changed, closed or withdrawn. */
  onCue: (cue: LiveCue) => void;
  /** Committed words (each once, in order). */
  onWords: (words: LiveWord[]) => void;
  /** Captions stopped for a while (decoder or engine crash): from `atMs`, why. */
  onGap: (atMs: number, reason: string) => void;
  onCrash: (crash: ProcessCrash) => void;
  report: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Where the current cue goes for burn-in. */
  show: (lines: readonly string[], hideAtMs: number) => void;
}

/**
 * Live captions of one stream, inside its worker: the publisher's Opus packets go (in a live Matroska
 * stream) to a supervised ffmpeg that decodes them to 16 kHz mono PCM, which an AsrStream hears in 100 ms
 * chunks; its results are laid out as cues. Times are mapped back to the packets' capture clock, so a
 * word's time is when it was said. A decoder or engine crash is restarted with backoff and marked as a gap.
 */
export class LiveCaptioner {
  private readonly decoder: OpusPcmDecoder;
  private asr: AsrStream | undefined;
  private readonly layout = new CaptionLayout();
  /** Epoch ms that the layout's ms count from (the first audio ever heard). */
  private layoutOriginMs: number | undefined;
  /** Capture time (epoch ms) of the end of the last audio heard: no word ends later than that. */
  private heardUntilMs = 0;
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenDelayMs = FIRST_REOPEN_MS;
  private engineFailed = false;
  private shownId = -1;
  private isClosed = false;
  /** While closing: the engine's last final still counts. */
  private flushing = false;

  constructor(private readonly options: LiveCaptionerOptions) {
    this.decoder = new OpusPcmDecoder({
      role: 'caption-decoder',
      ffmpegPath: options.ffmpegPath,
      restartBackoffMaxMs: options.restartBackoffMaxMs,
      sampleRate: SAMPLE_RATE,
      chunkSamples: CHUNK_SAMPLES,
      onChunk: (samples, startMs) => this.hear(samples, startMs),
      // The audio timeline restarts with a new decoder: the utterance in progress is finished.
      onStart: (restart) => restart && this.endAsr(),
      onCrash: (crash) => {
        options.onCrash(crash);
        this.markGap('audio decoder crashed');
      },
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** One Opus packet (RTP payload) captured at `captureMs` (epoch ms). */
  pushOpus(packet: Buffer, captureMs: number): void {
    if (!this.isClosed) this.decoder.push(packet, captureMs);
  }

  /** Stops decoding and recognition; the open cues are closed (sent as final). Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.reopenTimer);
    const asr = this.asr;
    this.asr = undefined;
    // The utterance in progress is finished first, so its words reach the transcript (bounded: a
    // stuck engine must not hold up the stream's end).
    this.flushing = true;
    if (asr) await Promise.race([asr.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS))]);
    this.flushing = false;
    await Promise.all([this.decoder.close(), asr?.close()]);
    this.emitCues(this.layout.finish());
    this.options.show([], Number.POSITIVE_INFINITY);
  }

  private hear(chunk: Int16Array, chunkStartMs: number): void {
    // The layout counts from the first audio ever heard.
    this.layoutOriginMs ??= chunkStartMs;
    this.heardUntilMs = chunkStartMs + (chunk.length * 1000) / SAMPLE_RATE;
    if (this.engineFailed || this.reopenTimer) return;
    if (!this.asr) this.openAsr(chunkStartMs);
    this.asr?.write(chunk);
  }

  private openAsr(originMs: number): void {
    let stream: AsrStream;
    try {
      stream = this.options.engine.open({ sampleRate: SAMPLE_RATE });
    } catch (error) {
      this.onAsrError(new AsrError('engine_unavailable', error instanceof Error ? error.message : String(error), false));
      return;
    }
    this.asr = stream;
    const toLayout = (result: AsrResult): AsrResult => {
      // The layout counts from the first audio ever heard, so its cues stay in order across reopened streams.
      const shift = originMs - (this.layoutOriginMs ?? originMs);
      return { text: result.text, words: result.words.map((word) => ({ ...word, startMs: word.startMs + shift, endMs: word.endMs + shift })) };
    };
    stream.on('partial', (result) => {
      if (this.asr === stream) this.emitCues(this.layout.push('partial', toLayout(result)));
    });
    stream.on('final', (result) => {
      if (this.isClosed && !this.flushing) return;
      this.reopenDelayMs = FIRST_REOPEN_MS;
      if (result.words.length > 0) this.options.onWords(result.words.map((word) => toLive(word, originMs, this.heardUntilMs)));
      this.emitCues(this.layout.push('final', toLayout(result)));
    });
    stream.on('error', (error) => {
      if (this.asr === stream) this.onAsrError(error);
    });
    stream.on('adaptation', (outcome) => {
      if (outcome.applied) this.options.report('info', `speech engine adapted to the speaker from ${outcome.speechS} s of speech`);
      else this.options.report('warn', `speech engine could not adapt to the speaker: ${outcome.reason}`);
    });
  }

  /** The audio timeline restarts (new decoder): the utterance in progress is finished, the next stream starts with the new audio. */
  private endAsr(): void {
    const stream = this.asr;
    this.asr = undefined;
    if (stream) stream.end().catch(() => undefined);
  }

  private onAsrError(error: AsrError): void {
    this.asr = undefined;
    if (this.isClosed) return;
    this.markGap(`speech engine: ${error.message}`);
    if (!error.retryable) {
      this.engineFailed = true;
      this.options.report('error', `captions stopped: ${error.message} (${error.code})`);
      return;
    }
    const delay = this.reopenDelayMs;
    this.reopenDelayMs = Math.min(MAX_REOPEN_MS, this.reopenDelayMs * 2);
    this.options.report('warn', `speech engine failed (${error.code}): ${error.message}; reopening in ${delay} ms`);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
    }, delay);
  }

  private markGap(reason: string): void {
    if (this.isClosed) return;
    this.emitCues(this.layout.finish());
    this.options.show([], Number.POSITIVE_INFINITY);
    this.options.onGap(Date.now(), reason);
  }

  private emitCues(cues: CaptionCue[]): void {
    const origin = this.layoutOriginMs ?? 0;
    for (const cue of cues) {
      const live: LiveCue = { id: cue.id, lines: cue.lines, startMs: origin + cue.startMs, endMs: origin + cue.endMs, partial: cue.partial, final: cue.final };
      this.options.onCue(live);
      if (cue.lines.length === 0) {
        if (cue.id === this.shownId) this.options.show([], Number.POSITIVE_INFINITY);
      } else if (cue.id >= this.shownId) {
        this.shownId = cue.id;
        // A partial also expires: after the last utterance of a talk its final only comes with the next speech.
        this.options.show(cue.lines, Math.max(live.endMs, Date.now()) + HOLD_MS);
      }
    }
  }
}

/**
 * A word on the capture clock. Its times count samples from the stream's first chunk, a clock that can
 * run a little ahead of the capture times (decoder concealment adds samples), so a word never ends after
 * the audio heard so far: the last word of a session ends within it.
 */
function toLive(word: AsrWord, originMs: number, heardUntilMs: number): LiveWord {
  const endMs = Math.min(originMs + word.endMs, heardUntilMs);
  return { word: word.word, startMs: Math.min(originMs + word.startMs, endMs), endMs, ...(word.conf !== undefined ? { conf: word.conf } : {}) };
}
