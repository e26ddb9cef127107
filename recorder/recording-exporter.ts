import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FfmpegError, JobCancelledError, type ProcessRunner } from '../core/process/process-runner.js';
import type { MediaKind, RecordingCatalogStore, SegmentRow } from './recording-catalog.js';
import { hideChapterTrack } from './mp4-chapter-track.js';
import { RecordingManifest } from './recording-manifest.js';

export interface ExportedMedia {
  file: string;
  bytes: number;
  contentType: string;
}

export class ExportError extends Error {
  override readonly name = 'ExportError';
}

export interface RecordingExporterOptions {
  catalog: RecordingCatalogStore;
  /** `$LIVEFX_DATA_DIR/recordings`. */
  recordingsDir: string;
  /** Runs the ffmpeg that joins the segments (dies with the server, killed when every caller gave up, watchdog). */
  runner: ProcessRunner;
}

/** One export in progress and how many callers still wait for it (Infinity once one that cannot abort joined). */
interface PendingExport {
  promise: Promise<ExportedMedia>;
  controller: AbortController;
  waiters: number;
}

/**
 * Makes one playable file of a recording's segments by stream copy (ffmpeg's concat demuxer, no
 * re-encode) and caches it beside them. MP4 with faststart; a VP8 original goes to WebM instead,
 * because ffmpeg's MP4 muxer does not take VP8. The file appears under its name only when complete.
 */
export class RecordingExporter {
  private readonly inFlight = new Map<string, PendingExport>();
  /**
   * Chapters for an export (ffmetadata text, or null for none), asked once when the file is made; the
   * highlights stage supplies them (scene cuts from the recording's live signals, titles from its transcript).
   */
  chapterSource: ((recordingId: string) => Promise<string | null>) | undefined;
  private readonly catalog: RecordingCatalogStore;
  private readonly recordingsDir: string;
  private readonly runner: ProcessRunner;

  constructor(options: RecordingExporterOptions) {
    ({ catalog: this.catalog, recordingsDir: this.recordingsDir, runner: this.runner } = options);
  }

  /**
   * The cached file, made first when needed; concurrent requests share one ffmpeg run. Aborting
   * `signal` rejects this caller with JobCancelledError; the ffmpeg is killed (and its partial output
   * removed) once every caller waiting for it has aborted. A caller without a signal keeps it running.
   */
  media(recordingId: string, kind: MediaKind, signal?: AbortSignal): Promise<ExportedMedia> {
    if (signal?.aborted) return Promise.reject(new JobCancelledError('cancelled'));
    const key = `${recordingId}/${kind}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      const controller = new AbortController();
      const started: PendingExport = {
        controller,
        waiters: 0,
        promise: this.make(recordingId, kind, controller.signal).finally(() => {
          if (this.inFlight.get(key) === started) this.inFlight.delete(key);
        }),
      };
      // An export nobody waits for any more still settles; its rejection is not unhandled.
      started.promise.catch(() => {});
      this.inFlight.set(key, started);
      pending = started;
    }
    const shared = pending;
    if (!signal) {
      shared.waiters = Infinity;
      return shared.promise;
    }
    shared.waiters++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        shared.waiters--;
        if (shared.waiters <= 0) {
          // A later request starts a fresh export: this one only cleans up after its killed ffmpeg.
          if (this.inFlight.get(key) === shared) this.inFlight.delete(key);
          shared.controller.abort();
        }
        reject(new JobCancelledError('cancelled'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private async make(recordingId: string, kind: MediaKind, signal: AbortSignal): Promise<ExportedMedia> {
    const dir = path.join(this.recordingsDir, recordingId);
    const webm = kind === 'original' && readCodec(dir) === 'VP8';
    const file = path.join(dir, `${kind}.${webm ? 'webm' : 'mp4'}`);
    const contentType = webm ? 'video/webm' : 'video/mp4';
    const cached = await stat(file).catch(() => undefined);
    if (cached) return { file, bytes: cached.size, contentType };
    const segments = await this.catalog.segments(recordingId, kind);
    if (segments.length === 0) throw new ExportError(`recording ${recordingId} has no ${kind} segments`);
    // Names of this run only: an export started after a cancelled one never shares (or loses) its files.
    const run = randomBytes(4).toString('hex');
    const list = path.join(dir, `${kind}.${run}.ffconcat`);
    await writeFile(list, concatList(segments));
    const temporary = `${file}.${run}.partial`;
    const chapters = webm ? null : ((await this.chapterSource?.(recordingId)) ?? null);
    const metadata = path.join(dir, `${kind}.${run}.ffmetadata`);
    if (chapters) await writeFile(metadata, chapters);
    // -copyts keeps the session times the list pins: media that starts late (a transformed stream's first keyframe) starts late in the file too.
    const args = ['-loglevel', 'error', '-y', '-copyts', '-f', 'concat', '-safe', '1', '-i', list, ...(chapters ? ['-i', metadata, '-map_chapters', '1'] : []), '-map', '0', '-c', 'copy'];
    args.push(...(webm ? ['-f', 'webm'] : ['-movflags', '+faststart', '-f', 'mp4']), temporary);
    const inputS = segments.reduce((total, segment) => total + segment.durationS, 0);
    try {
      await this.runner.ffmpegRun(args, signal, { stage: `exporting the ${kind} media of ${recordingId}`, inputS }).catch((error: unknown) => {
        if (error instanceof FfmpegError && !error.startFailed && error.stderr) throw new ExportError(`ffmpeg could not join the ${kind} segments of ${recordingId}: ${error.stderr}`);
        throw error;
      });
      // Chapters as chapters: the MP4 muxer also writes them as a text track, which showed as a third stream.
      if (chapters) await hideChapterTrack(temporary);
      await rename(temporary, file);
    } finally {
      await rm(temporary, { force: true });
      await rm(list, { force: true });
      await rm(metadata, { force: true });
    }
    return { file, bytes: (await stat(file)).size, contentType };
  }
}

/**
 * The concat demuxer's list, on the session clock. Each entry is pinned at its segment's start
 * (`inpoint`, 0 for the first) and lasts until the next segment's start, so every file keeps its own
 * session timestamps and the joined timeline has no drift. Left to itself ffmpeg places a file by its
 * probed start time, and counts it as 0 when the probe finds none (a one-frame last segment): that file's
 * media then landed a whole session late, and the transformed export lasted seconds too long.
 */
function concatList(segments: readonly SegmentRow[]): string {
  const lines = ['ffconcat version 1.0'];
  segments.forEach((segment, position) => {
    const next = segments[position + 1];
    const startS = position === 0 ? 0 : segment.startS;
    const endS = next ? next.startS : segment.startS + segment.durationS;
    lines.push(`file '${segment.file}'`, `inpoint ${startS.toFixed(3)}`, `duration ${Math.max(0, endS - startS).toFixed(3)}`);
  });
  return `${lines.join('\n')}\n`;
}

function readCodec(dir: string): 'H264' | 'VP8' | null {
  try {
    return RecordingManifest.read(dir).originalCodec;
  } catch {
    return null;
  }
}
