import { OpusPcmDecoder } from './opus-pcm-decoder.js';
import type { LiveSignalBatch } from './pipeline-messages.js';
import { SceneChangeMeter } from './scene-change-meter.js';
import type { ProcessCrash } from '../../core/process/supervised-process.js';

/** One level sample / motion slot per this many ms; one batch per SLOTS_PER_BATCH slots. */
export const SIGNAL_SLOT_MS = 100;
const SLOTS_PER_BATCH = 10;
/** A frame whose scene score reaches this is listed as a cut candidate (ffmpeg `scdet`'s default threshold). */
export const SCENE_CUT_SCORE = 10;
/** The level meter decodes at 8 kHz mono: enough for loudness, a quarter of the captioner's work. */
const LEVEL_SAMPLE_RATE = 8000;
const LEVEL_CHUNK_SAMPLES = (LEVEL_SAMPLE_RATE * SIGNAL_SLOT_MS) / 1000;
/** dBFS of digital silence (log of 0). */
export const SILENT_DBFS = -100;

export interface LiveSignalsOptions {
  hasAudio: boolean;
  ffmpegPath: string;
  restartBackoffMaxMs: number;
  /** A batch of one second of video or audio signals (posted to the main thread). */
  onBatch: (batch: LiveSignalBatch) => void;
  onCrash: (crash: ProcessCrash) => void;
}

/** A running 1 s batch of 100 ms slots on the capture clock (epoch ms); also used offline (test/helpers/media-signal-events.ts). */
export class SignalBatch {
  readonly values = new Float64Array(SLOTS_PER_BATCH);
  startMs = Number.NaN;
  cuts: [number, number][] = [];

  private readonly source: 'video' | 'audio';
  private readonly empty: number;
  private readonly flush: (batch: LiveSignalBatch) => void;

  constructor(options: {
    source: 'video' | 'audio';
    /** A slot's value before anything lands in it. */
    empty: number;
    flush: (batch: LiveSignalBatch) => void;
  }) {
    ({ source: this.source, empty: this.empty, flush: this.flush } = options);
    this.values.fill(this.empty);
  }

  /** Keeps the largest value of its slot. */
  add(atMs: number, value: number): void {
    if (Number.isNaN(this.startMs)) this.startMs = atMs;
    if (atMs >= this.startMs + SLOTS_PER_BATCH * SIGNAL_SLOT_MS || atMs < this.startMs) this.post(atMs);
    const slot = Math.floor((atMs - this.startMs) / SIGNAL_SLOT_MS);
    if (value > this.values[slot]!) this.values[slot] = value;
  }

  cut(atMs: number, score: number): void {
    this.cuts.push([atMs, score]);
  }

  /** Sends what was gathered and starts the next batch at `nextMs`. */
  post(nextMs: number): void {
    if (!Number.isNaN(this.startMs)) {
      const values = Array.from(this.values, (value) => Math.round(value * 100) / 100);
      this.flush({ source: this.source, startMs: this.startMs, slotMs: SIGNAL_SLOT_MS, values, ...(this.source === 'video' ? { cuts: this.cuts } : {}) });
    }
    this.cuts = [];
    this.values.fill(this.empty);
    this.startMs = nextMs;
  }
}

/**
 * Cheap signals of a live stream for the highlights stage, computed in its worker so a recording needs
 * no video re-analysis: per frame a scene-change score and motion on a 64×36 luma grid (cut candidates
 * and, per 100 ms, the largest motion), and per 100 ms the audio level in dBFS from its own 8 kHz
 * decoder of the publisher's Opus. Batches of one second go to `onBatch`.
 */
export class LiveSignals {
  private readonly meter = new SceneChangeMeter();
  private readonly video: SignalBatch;
  private readonly audio: SignalBatch;
  private readonly decoder: OpusPcmDecoder | undefined;
  private isClosed = false;

  constructor(private readonly options: LiveSignalsOptions) {
    // Slots without a frame keep -1 (no picture), without audio SILENT_DBFS.
    this.video = new SignalBatch({ source: 'video', empty: -1, flush: options.onBatch });
    this.audio = new SignalBatch({ source: 'audio', empty: SILENT_DBFS, flush: options.onBatch });
    if (options.hasAudio) {
      this.decoder = new OpusPcmDecoder({
        role: 'level-decoder',
        ffmpegPath: options.ffmpegPath,
        restartBackoffMaxMs: options.restartBackoffMaxMs,
        sampleRate: LEVEL_SAMPLE_RATE,
        chunkSamples: LEVEL_CHUNK_SAMPLES,
        onChunk: (samples, startMs) => this.audio.add(startMs, levelDbfs(samples)),
        onCrash: options.onCrash,
      });
    }
  }

  /** One decoded frame (before the transforms), captured at `captureMs`. No allocation. */
  measureFrame(y: Uint8Array, width: number, height: number, captureMs: number): void {
    if (this.isClosed) return;
    this.meter.measure(y, width, height);
    this.video.add(captureMs, this.meter.motion);
    if (this.meter.score >= SCENE_CUT_SCORE) this.video.cut(captureMs, Math.round(this.meter.score * 100) / 100);
  }

  /** The decoder restarted: the next frame is compared with nothing. */
  resetVideo(): void {
    this.meter.reset();
  }

  /** One Opus packet (RTP payload) captured at `captureMs` (epoch ms). */
  pushOpus(packet: Buffer, captureMs: number): void {
    if (!this.isClosed) this.decoder?.push(packet, captureMs);
  }

  /** Sends the last partial batches and stops the decoder. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.decoder?.close();
    this.video.post(Number.NaN);
    this.audio.post(Number.NaN);
  }
}

/** RMS level of 16-bit samples in dBFS (SILENT_DBFS for digital silence). */
export function levelDbfs(samples: Int16Array): number {
  let sum = 0;
  for (let index = 0; index < samples.length; index++) sum += samples[index]! * samples[index]!;
  if (sum === 0) return SILENT_DBFS;
  return Math.max(SILENT_DBFS, 20 * Math.log10(Math.sqrt(sum / samples.length) / 32768));
}
