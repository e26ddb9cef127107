import type { Logger } from '../../core/logger.js';
import type { RecordingCatalogStore, RecordingEvent } from '../../recorder/recording-catalog.js';
import type { LivefxConfig } from '../../core/config.js';
import type { Recorder } from '../../recorder/recorder.js';
import type { AsrEngine } from '../../transforms/subtitles/asr-engine.js';
import { createAsrEngine, type AsrEngineConfig } from '../../transforms/subtitles/create-asr-engine.js';
import { transcribeFile, UnreadableMediaError } from '../../transforms/subtitles/transcribe-file.js';

/** The event that marks a recording as transcribed after the fact (its words are `transcript-word` events beside it). */
export const TRANSCRIPTION_EVENT = 'transcription';

export interface RecordingTranscriberOptions {
  catalog: RecordingCatalogStore;
  /** A playable file of the recording (the recorder's export or the imported file). */
  mediaFile: (recordingId: string) => Promise<string>;
  /** A new engine per transcription (PocketSphinx, or LIVEFX_ASR_COMMAND's program). */
  engine: () => AsrEngine;
  ffmpeg: string;
  ffprobe: string;
  log: Logger;
}

export interface RecordingTranscriberForRecorderOptions {
  recorder: Recorder;
  config: AsrEngineConfig & Pick<LivefxConfig, 'LIVEFX_FFMPEG' | 'LIVEFX_FFPROBE'>;
  log: Logger;
}

export type TranscriptOrigin = 'stored' | 'transcribed' | 'cached' | 'none';

/**
 * Gives recordings without a stored transcript (imports, streams without live captions) one, once:
 * the speech engine runs over the media and its words are stored as `transcript-word` events with a
 * `transcription` marker, so highlights, the studio planner and captions all read the same words and
 * nothing is transcribed twice (a recording without speech keeps its marker with 0 words).
 */
export class RecordingTranscriber {
  /** One transcription per recording at a time; a second caller waits for the first. */
  private readonly running = new Map<string, Promise<TranscriptOrigin>>();

  constructor(private readonly options: RecordingTranscriberOptions) {}

  /** The transcriber of a recorder's recordings (the server's and the CLI's): it hears the transformed media where there is some, with the configured engine. */
  static forRecorder({ recorder, config, log }: RecordingTranscriberForRecorderOptions): RecordingTranscriber {
    return new RecordingTranscriber({
      catalog: recorder.catalog,
      mediaFile: async (id) => (await recorder.media(id, (await recorder.catalog.segments(id, 'transformed')).length > 0 ? 'transformed' : 'original')).file,
      engine: () => createAsrEngine(config),
      ffmpeg: config.LIVEFX_FFMPEG,
      ffprobe: config.LIVEFX_FFPROBE,
      log,
    });
  }

  /** Whether the recording has its words (from the live captions, its import, or an earlier transcription). */
  async origin(recordingId: string): Promise<TranscriptOrigin | undefined> {
    const counts = await this.options.catalog.eventCounts(recordingId);
    if (counts.has(TRANSCRIPTION_EVENT)) return 'cached';
    if ((counts.get('transcript-word') ?? 0) > 0) return 'stored';
    return undefined;
  }

  /** Transcribes the recording unless it has a transcript; resolves to where its words come from. */
  ensure(recordingId: string, signal?: AbortSignal, mediaFile?: () => Promise<string>): Promise<TranscriptOrigin> {
    const inFlight = this.running.get(recordingId);
    if (inFlight) return inFlight;
    // Registered before the first await, so a second caller in the same tick joins this run.
    const run = this.origin(recordingId)
      .then((known) => known ?? this.transcribe(recordingId, signal, mediaFile))
      .finally(() => this.running.delete(recordingId));
    this.running.set(recordingId, run);
    return run;
  }

  private async transcribe(recordingId: string, signal?: AbortSignal, mediaFile?: () => Promise<string>): Promise<TranscriptOrigin> {
    const started = performance.now();
    // A job on another machine hands over the media it fetched.
    const file = mediaFile ? await mediaFile() : await this.options.mediaFile(recordingId);
    const engine = this.options.engine();
    let words: { word: string; startMs: number; endMs: number; conf?: number }[];
    try {
      const transcript = await transcribeFile(file, { engine, ffmpeg: this.options.ffmpeg, ffprobe: this.options.ffprobe, ...(signal ? { signal } : {}) });
      words = transcript.words;
    } catch (error) {
      // Media without sound has nothing to say: remembered, so it is not tried again.
      if (error instanceof UnreadableMediaError && /no audio stream/.test(error.reason)) words = [];
      else throw error;
    }
    const catalog = this.options.catalog;
    // Another process (the CLI on the same data directory) may have finished first.
    if (await this.origin(recordingId)) return 'cached';
    let seq = 0;
    for (const existing of await catalog.eventSeqs(recordingId)) seq = Math.max(seq, existing);
    const events: RecordingEvent[] = words.map((word) => ({
      seq: ++seq,
      t: round3(word.startMs / 1000),
      type: 'transcript-word',
      payload: { word: word.word, end: round3(word.endMs / 1000), ...(word.conf !== undefined ? { conf: word.conf } : {}), engine: `${engine.name} ${engine.version}`.trim() },
    }));
    events.push({ seq: ++seq, t: 0, type: TRANSCRIPTION_EVENT, payload: { engine: engine.name, version: engine.version, words: words.length, elapsedMs: Math.round(performance.now() - started) } });
    await catalog.insertEvents(recordingId, events);
    this.options.log.info({ recordingId, words: words.length, elapsedMs: Math.round(performance.now() - started) }, 'recording transcribed');
    return 'transcribed';
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
