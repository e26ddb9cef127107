import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { LivefxError } from '../core/errors.js';
import { ProcessRunner } from '../core/process/process-runner.js';
import { MediaAnalyzer } from '../highlights/analysis/media-analyzer.js';
import { liveSignalAnalysis } from '../highlights/analysis/live-signal-analysis.js';
import { buildSignals, type RecordingSignals } from '../highlights/analysis/recording-signals.js';
import type { RecordingTranscriber } from '../highlights/analysis/recording-transcriber.js';
import type { Recorder } from '../recorder/recorder.js';
import { allEvents, type RecordingRow } from '../recorder/recording-catalog.js';
import { IMAGE_FILE_NAME } from '../transforms/chain-spec.js';
import { isMusicBed, MUSIC_BEDS } from './audio-beds.js';
import type { StudioCaller } from './ports.js';

export interface StudioSourcesOptions {
  recorder: Recorder;
  /** Uploaded images and logos (`$LIVEFX_DATA_DIR/images`): an asset id is a file name there. */
  imagesDir: string;
  /** Uploaded music tracks (`POST /v1/music`); default: `audio/` beside the images folder. */
  audioDir?: string;
  ffmpeg: string;
  ffprobe: string;
  /** Gives recordings without a transcript one before they are planned from (none: they are planned without words). */
  transcriber?: RecordingTranscriber;
}

/** One recording ready to plan from: its row and every signal the highlights analysis finds in it. */
export interface PlannableRecording {
  recording: RecordingRow;
  signals: RecordingSignals;
  sha256: string;
}

/**
 * What the studio may use for a caller: recordings it may read (an operator of one stream reads only that
 * stream's recordings; imports and other streams' recordings are the admin's and global operators'), and
 * the uploaded images. Names a missing source (404) or one the caller may not read (403) clearly.
 */
export class StudioSources {
  private readonly analyzer: MediaAnalyzer;

  constructor(private readonly options: StudioSourcesOptions) {
    this.analyzer = new MediaAnalyzer(new ProcessRunner({ ffmpeg: options.ffmpeg, ffprobe: options.ffprobe, label: 'studio' }));
  }

  static canRead(caller: StudioCaller, recording: RecordingRow): boolean {
    return caller.role === 'admin' || caller.streamId === undefined || recording.streamId === caller.streamId;
  }

  /** The recordings named (each must exist, be finished and be readable), or every finished one the caller may read. */
  async recordings(caller: StudioCaller, ids?: readonly string[]): Promise<RecordingRow[]> {
    const catalog = this.options.recorder.catalog;
    if (ids === undefined) {
      const all = caller.role === 'operator' && caller.streamId !== undefined ? await catalog.list({ streamId: caller.streamId }) : await catalog.list();
      return all.filter((recording) => recording.state !== 'recording' && !this.options.recorder.isRecording(recording.id)).reverse();
    }
    const rows: RecordingRow[] = [];
    for (const id of new Set(ids)) {
      const recording = await catalog.get(id);
      if (!recording) throw new LivefxError('recording_not_found', `no recording with id "${id}"`, { details: { field: 'sources.recording_ids' } });
      if (!StudioSources.canRead(caller, recording)) throw new LivefxError('forbidden', `recording "${id}" belongs to another stream: this token may use only stream "${caller.streamId}"'s recordings`);
      if (recording.state === 'recording' || this.options.recorder.isRecording(id)) throw new LivefxError('recording_in_progress', `recording "${id}" is still in progress; it can be used once the stream has ended`);
      rows.push(recording);
    }
    return rows;
  }

  /** The path of an uploaded image; 400 for anything that is not a plain file name, 404 for none. */
  async assetFile(id: string): Promise<string> {
    const dir = path.resolve(this.options.imagesDir);
    const file = path.resolve(dir, id);
    if (!IMAGE_FILE_NAME.test(id) || path.dirname(file) !== dir) {
      throw new LivefxError('invalid_file_name', `asset id "${id.slice(0, 200)}" is not a file name of the images folder (letters, digits and " ._-", ending in .png, .jpg or .jpeg; no folders or "..")`, {
        details: { field: 'sources.asset_ids' },
      });
    }
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new LivefxError('asset_not_found', `no asset "${id}": upload it first (POST /v1/images)`, { details: { field: 'sources.asset_ids' } });
    return file;
  }

  /** Checks a storyboard's `music.track`: a built-in bed, or the file name of an uploaded track. */
  async checkMusicTrack(track: string): Promise<void> {
    if (isMusicBed(track)) return;
    const dir = path.resolve(this.options.audioDir ?? path.join(path.dirname(this.options.imagesDir), 'audio'));
    const file = path.resolve(dir, track);
    const details = { details: { field: 'music.track' } };
    if (path.dirname(file) !== dir || track.includes('..') || !/^[\w][\w .-]{0,120}$/.test(track)) throw new LivefxError('invalid_file_name', `music.track "${track.slice(0, 200)}" is neither a built-in bed (${MUSIC_BEDS.join(', ')}) nor a file name of an uploaded track (no folders or "..")`, details);
    if (!(await stat(file).catch(() => undefined))?.isFile()) throw new LivefxError('asset_not_found', `music.track "${track}" is neither a built-in bed (${MUSIC_BEDS.join(', ')}) nor an uploaded track (upload it with POST /v1/music)`, details);
  }

  /** The asset ids named (each checked), or every uploaded image, in name order. */
  async assets(ids?: readonly string[]): Promise<string[]> {
    if (ids !== undefined) {
      for (const id of ids) await this.assetFile(id);
      return [...new Set(ids)];
    }
    const names = await readdir(this.options.imagesDir).catch(() => [] as string[]);
    return names.filter((name) => IMAGE_FILE_NAME.test(name)).sort();
  }

  /**
   * The highlights signals of a recording (engagement, transcript sentences, scene cuts, dead air): its
   * transcript made first when it has none, the media analysis read from its cache when there is one.
   */
  async plannable(recording: RecordingRow, signal?: AbortSignal): Promise<PlannableRecording> {
    const recorder = this.options.recorder;
    await this.options.transcriber?.ensure(recording.id, signal);
    const kind = (await recorder.catalog.segments(recording.id, 'transformed')).length > 0 ? 'transformed' : 'original';
    const media = await recorder.media(recording.id, kind, signal);
    const events = await allEvents(recorder.catalog, recording.id);
    const analysis = await this.analyzer.analyse(media.file, signal, liveSignalAnalysis(events, recording.durationS));
    return { recording, signals: buildSignals(analysis, events), sha256: analysis.sha256 };
  }
}
