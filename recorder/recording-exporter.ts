import { execFile } from 'node:child_process';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MediaKind, RecordingCatalogStore, SegmentRow } from './recording-catalog.js';
import { RecordingManifest } from './recording-manifest.js';

export interface ExportedMedia {
  file: string;
  bytes: number;
  contentType: string;
}

export class ExportError extends Error {
  override readonly name = 'ExportError';
}

const EXPORT_TIMEOUT_MS = 10 * 60_000;

export interface RecordingExporterOptions {
  catalog: RecordingCatalogStore;
  /** `$LIVEFX_DATA_DIR/recordings`. */
  recordingsDir: string;
  ffmpeg: string;
}

/**
 * Makes one playable file of a recording's segments by stream copy (ffmpeg's concat demuxer, no
 * re-encode) and caches it beside them. MP4 with faststart; a VP8 original goes to WebM instead,
 * because ffmpeg's MP4 muxer does not take VP8.
 */
export class RecordingExporter {
  private readonly inFlight = new Map<string, Promise<ExportedMedia>>();
  /**
   * Chapters for an export (ffmetadata text, or null for none), asked once when the file is made; the
   * highlights stage supplies them (scene cuts from the recording's live signals, titles from its transcript).
   */
  chapterSource: ((recordingId: string) => Promise<string | null>) | undefined;
  private readonly catalog: RecordingCatalogStore;
  private readonly recordingsDir: string;
  private readonly ffmpeg: string;

  constructor(options: RecordingExporterOptions) {
    ({ catalog: this.catalog, recordingsDir: this.recordingsDir, ffmpeg: this.ffmpeg } = options);
  }

  /** The cached file, made first when needed; concurrent requests share one ffmpeg run. */
  media(recordingId: string, kind: MediaKind): Promise<ExportedMedia> {
    const key = `${recordingId}/${kind}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.make(recordingId, kind).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async make(recordingId: string, kind: MediaKind): Promise<ExportedMedia> {
    const dir = path.join(this.recordingsDir, recordingId);
    const webm = kind === 'original' && readCodec(dir) === 'VP8';
    const file = path.join(dir, `${kind}.${webm ? 'webm' : 'mp4'}`);
    const contentType = webm ? 'video/webm' : 'video/mp4';
    const cached = await stat(file).catch(() => undefined);
    if (cached) return { file, bytes: cached.size, contentType };
    const segments = await this.catalog.segments(recordingId, kind);
    if (segments.length === 0) throw new ExportError(`recording ${recordingId} has no ${kind} segments`);
    const list = path.join(dir, `${kind}.ffconcat`);
    await writeFile(list, concatList(segments));
    const temporary = `${file}.partial`;
    const chapters = webm ? null : ((await this.chapterSource?.(recordingId)) ?? null);
    const metadata = path.join(dir, `${kind}.ffmetadata`);
    if (chapters) await writeFile(metadata, chapters);
    const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '1', '-i', list, ...(chapters ? ['-i', metadata, '-map_chapters', '1'] : []), '-map', '0', '-c', 'copy'];
    args.push(...(webm ? ['-f', 'webm'] : ['-movflags', '+faststart', '-f', 'mp4']), temporary);
    try {
      await new Promise<void>((resolve, reject) => {
        execFile(this.ffmpeg, args, { timeout: EXPORT_TIMEOUT_MS }, (error, _stdout, stderr) => {
          if (error) reject(new ExportError(`ffmpeg could not join the ${kind} segments of ${recordingId}: ${stderr.trim() || error.message}`));
          else resolve();
        });
      });
      await rename(temporary, file);
    } finally {
      await rm(temporary, { force: true });
      await rm(list, { force: true });
      await rm(metadata, { force: true });
    }
    return { file, bytes: (await stat(file)).size, contentType };
  }
}

/** The concat demuxer's list; each entry's duration runs to the next segment's start, so the joined timeline has no drift. */
function concatList(segments: readonly SegmentRow[]): string {
  const lines = ['ffconcat version 1.0'];
  segments.forEach((segment, position) => {
    const next = segments[position + 1];
    const duration = next ? next.startS - segment.startS : segment.durationS;
    lines.push(`file '${segment.file}'`);
    if (duration > 0) lines.push(`duration ${duration.toFixed(3)}`);
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
