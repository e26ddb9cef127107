import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../core/logger.js';
import { MediaProbe, MediaProbeError } from '../core/media/media-probe.js';
import { FfmpegError, ProcessRunner } from '../core/process/process-runner.js';
import { LivefxError } from '../core/errors.js';
import { EventLog } from './event-log.js';
import { readMediaSignature } from './media-signature.js';
import type { RecordingCatalogStore, RecordingEvent, RecordingRow, SegmentRow } from './recording-catalog.js';
import { RecordingManifest, type RecordingManifestData } from './recording-manifest.js';

export type ImportErrorCode = 'missing_media' | 'invalid_media' | 'invalid_events' | 'file_too_large';

/** Why an import was refused: a stable code, its HTTP status and a message naming the problem. */
export class ImportError extends LivefxError {
  override name = 'ImportError';
  declare readonly code: ImportErrorCode;
  constructor(code: ImportErrorCode, httpStatus: number, message: string) {
    super(code, message, { httpStatus });
  }
}

export interface RecordingImporterOptions {
  catalog: RecordingCatalogStore;
  /** `$LIVEFX_DATA_DIR/recordings`. */
  recordingsDir: string;
  /** Runs the ffprobe and ffmpeg children; without one, a runner of `ffmpeg` and `ffprobe` is made. */
  runner?: ProcessRunner;
  ffmpeg?: string;
  ffprobe?: string;
  log?: Logger;
  /** Largest media file taken (LIVEFX_IMPORT_MAX_MB); undefined: no limit. */
  maxBytes?: number | undefined;
}

export interface ImportInput {
  /** Path of the media file (left where it is: the importer makes its own copy). */
  media: string;
  /** The events JSON, as text (a file's content) or already parsed; undefined for none. */
  events?: string | unknown;
  /** Defaults to `name`. */
  title?: string;
  /** The file's name as the user knows it (an upload's original name), for titles and messages; defaults to the media path's base name. */
  name?: string;
}

/** Prefix of the temporary folders an import builds in; leftovers of a crash are removed at start-up. */
export const IMPORT_TEMP_PREFIX = '.import-';
/** Events JSON larger than this is refused (a chat log of a long VOD is a few MB). */
export const MAX_EVENTS_BYTES = 64 * 1024 * 1024;
const MAX_EVENTS = 2_000_000;
/** "Video" that ffmpeg makes of text and images: a text file probes as format tty with an ansi stream. */
const NOT_VIDEO = new Set(['ansi', 'bintext', 'xbin', 'idf', 'png', 'mjpeg', 'gif', 'bmp', 'webp']);
/** Codecs ffmpeg's MP4 muxer takes as they are; anything else goes to WebM, then Matroska. */
const MP4_VIDEO = new Set(['h264', 'hevc', 'av1', 'vp9', 'mpeg4', 'mpeg2video', 'mjpeg']);
const MP4_AUDIO = new Set(['aac', 'mp3', 'mp2', 'ac3', 'eac3', 'opus', 'alac', 'flac']);
const WEBM_VIDEO = new Set(['vp8', 'vp9', 'av1']);
const WEBM_AUDIO = new Set(['opus', 'vorbis']);
const CONTAINERS = {
  mp4: { extension: 'mp4', contentType: 'video/mp4', args: ['-movflags', '+faststart', '-f', 'mp4'] },
  webm: { extension: 'webm', contentType: 'video/webm', args: ['-f', 'webm'] },
  mkv: { extension: 'mkv', contentType: 'video/x-matroska', args: ['-f', 'matroska'] },
} as const;
type Container = keyof typeof CONTAINERS;

const seconds = z.number({ error: 'expected a number of seconds' }).finite().min(0, 'must be 0 or more seconds');
const user = z.string().min(1, 'must not be empty').max(200, 'at most 200 characters');
const eventSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ t: seconds, type: z.literal('chat'), user, text: z.string().max(10_000, 'at most 10000 characters'), id: z.string().max(200).optional() }).strict(),
    z.object({ t: seconds, type: z.literal('reaction'), user, kind: z.string().min(1, 'must not be empty').max(64, 'at most 64 characters') }).strict(),
    z.object({ t: seconds, type: z.literal('viewers'), count: z.number().int('must be a whole number').min(0, 'must be 0 or more') }).strict(),
    z.object({ t: seconds, type: z.literal('transcript-word'), word: z.string().min(1, 'must not be empty').max(200), end: seconds, conf: z.number().min(0).max(1).optional() }).strict(),
  ],
  { error: 'expected "type" to be one of "chat", "reaction", "viewers", "transcript-word"' },
);
export const importEventsSchema = z.object({ events: z.array(eventSchema).max(MAX_EVENTS, `at most ${MAX_EVENTS} events`) }).strict();
export type ImportedEvent = z.infer<typeof eventSchema>;

interface ProbedMedia {
  durationS: number;
  videoCodec: string;
  audioCodec: string | null;
  formatName: string;
}

/** The `import` block of an imported recording's manifest.json (beside the recorder's own fields). */
export interface ImportManifestBlock {
  source: string;
  file: string;
  contentType: string;
  videoCodec: string;
  audioCodec: string | null;
  /** Imports have one media file: "original" and "transformed" both serve it. */
  originalAndTransformedAreTheSameFile: true;
}

/**
 * Turns an outside media file (anything ffmpeg reads that has a video stream) and an optional events
 * JSON into a recording in state `imported`. The media is copied without re-encoding into one file
 * (MP4 when its codecs fit, else WebM, else Matroska) that serves as both "original" and
 * "transformed". Everything is built in a temporary folder, renamed into place, then the catalog rows
 * go in all at once; a failure at any step leaves neither folder nor row.
 */
export class RecordingImporter {
  private readonly runner: ProcessRunner;
  private readonly mediaProbe: MediaProbe;

  constructor(private readonly options: RecordingImporterOptions) {
    this.runner = options.runner ?? new ProcessRunner({ ffmpeg: options.ffmpeg, ffprobe: options.ffprobe, label: 'import' });
    this.mediaProbe = new MediaProbe({ runner: this.runner });
  }

  /** Validates an events JSON document (text or parsed); throws invalid_events naming the field. */
  static parseEvents(events: string | unknown): ImportedEvent[] {
    let document: unknown = events;
    if (typeof events === 'string' || Buffer.isBuffer(events)) {
      const text = events.toString();
      if (Buffer.byteLength(text) > MAX_EVENTS_BYTES) throw new ImportError('invalid_events', 400, `the events JSON is larger than ${MAX_EVENTS_BYTES / (1024 * 1024)} MiB`);
      try {
        document = JSON.parse(text);
      } catch (error) {
        throw new ImportError('invalid_events', 400, `the events file is not JSON: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const parsed = importEventsSchema.safeParse(document);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ImportError('invalid_events', 400, `${issue.path.join('.') || 'events JSON'}: ${issue.message}`);
    }
    return parsed.data.events;
  }

  /** Imports one file; resolves to the new catalog row (state `imported`). */
  async import(input: ImportInput): Promise<RecordingRow> {
    const source = path.resolve(input.media);
    const name = input.name ?? path.basename(input.media);
    const info = await stat(source).catch(() => undefined);
    if (!info) throw new ImportError('missing_media', 400, `no media file at ${input.media}`);
    if (!info.isFile()) throw new ImportError('invalid_media', 422, `${input.media} is not a file`);
    const { maxBytes } = this.options;
    if (maxBytes !== undefined && info.size > maxBytes) {
      throw new ImportError('file_too_large', 413, `${name} is ${Math.ceil(info.size / 2 ** 20)} MB, larger than the ${Math.round(maxBytes / 2 ** 20)} MB allowed (LIVEFX_IMPORT_MAX_MB)`);
    }
    // Events first: they are cheap to check and a bad one should not cost a copy of the media.
    const events = input.events === undefined || input.events === '' ? [] : RecordingImporter.parseEvents(input.events);
    // The first bytes next: what is not a video container is refused without starting ffprobe.
    const signature = await readMediaSignature(source);
    if ('problem' in signature) throw new ImportError('invalid_media', 422, `${name} is not a readable media file: ${signature.problem}`);
    const probed = await this.probe(source, name);
    const limitS = probed.durationS + 1;
    events.forEach((event, index) => {
      if (event.t > limitS) {
        throw new ImportError('invalid_events', 400, `events.${index}.t: ${event.t} s is after the end of the media (${probed.durationS.toFixed(3)} s long; up to 1 s beyond it is allowed)`);
      }
      if (event.type === 'transcript-word' && event.end < event.t) throw new ImportError('invalid_events', 400, `events.${index}.end: must not be before t (${event.t})`);
    });
    // Stable sort: events with the same t keep the order of the file.
    const sorted = events.map((event, index) => ({ event, index })).sort((a, b) => a.event.t - b.event.t || a.index - b.index);

    const id = randomBytes(8).toString('hex');
    const { recordingsDir } = this.options;
    await mkdir(recordingsDir, { recursive: true });
    const temporary = path.join(recordingsDir, `${IMPORT_TEMP_PREFIX}${id}`);
    const target = path.join(recordingsDir, id);
    let renamed = false;
    try {
      await mkdir(temporary);
      const container = containerFor(probed);
      const spec = CONTAINERS[container];
      const file = `original.${spec.extension}`;
      await this.copy(source, path.join(temporary, file), spec.args, name, probed.durationS);
      // A file cut short can still probe (its index is at the front): what was copied shows it. Always
      // probed: the copy's duration is what the catalog keeps (it can differ from the source's by a few ms).
      const copied = await this.probe(path.join(temporary, file), name);
      if (copied.durationS < probed.durationS * 0.9 - 1) {
        throw new ImportError('invalid_media', 422, `${name} looks truncated: it says it lasts ${probed.durationS.toFixed(1)} s but only ${copied.durationS.toFixed(1)} s could be read`);
      }
      // The exporter serves `<kind>.mp4` from its cache: a hard link makes the MP4 "transformed" without a second copy.
      if (container === 'mp4') await link(path.join(temporary, file), path.join(temporary, 'transformed.mp4'));
      const bytes = (await stat(path.join(temporary, file))).size;
      const now = new Date();
      const durationS = Math.round(copied.durationS * 1000) / 1000;
      const recording: RecordingRow = {
        id,
        streamId: null,
        title: ((input.title ?? '').trim() || name).slice(0, 200),
        state: 'imported',
        startedAt: now.toISOString(),
        endedAt: new Date(now.getTime() + durationS * 1000).toISOString(),
        durationS,
      };
      const recordingEvents: RecordingEvent[] = sorted.map(({ event }, position) => {
        const { t, type, ...payload } = event;
        return { seq: position + 1, t, type, payload };
      });
      writeSynced(path.join(temporary, EventLog.FILE_NAME), recordingEvents.map((event) => `${JSON.stringify(event)}\n`).join(''));
      const block: ImportManifestBlock = {
        source: name,
        file,
        contentType: spec.contentType,
        videoCodec: probed.videoCodec,
        audioCodec: probed.audioCodec,
        originalAndTransformedAreTheSameFile: true,
      };
      const manifest: RecordingManifestData & { import: ImportManifestBlock } = {
        version: 1,
        ...recording,
        originalCodec: probed.videoCodec === 'vp8' ? 'VP8' : probed.videoCodec === 'h264' ? 'H264' : null,
        hasAudio: probed.audioCodec !== null,
        segmentS: Math.max(durationS, 0.001),
        updatedAt: now.toISOString(),
        import: block,
      };
      writeSynced(path.join(temporary, RecordingManifest.FILE_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
      await rename(temporary, target);
      renamed = true;
      const segments: SegmentRow[] = (['original', 'transformed'] as const).map((kind) => ({ recordingId: id, kind, index: 0, file, startS: 0, durationS, bytes }));
      await this.options.catalog.insertRecording(recording, segments, recordingEvents);
      this.options.log?.info({ recordingId: id, source: block.source, durationS, events: recordingEvents.length, container }, 'recording imported');
      return recording;
    } catch (error) {
      await rm(renamed ? target : temporary, { recursive: true, force: true });
      throw error;
    }
  }

  /** Removes temporary folders a crash left mid-import (they never reached the catalog). */
  async removeLeftovers(): Promise<string[]> {
    const names = (await readdir(this.options.recordingsDir).catch(() => [] as string[])).filter((name) => name.startsWith(IMPORT_TEMP_PREFIX));
    for (const name of names) await rm(path.join(this.options.recordingsDir, name), { recursive: true, force: true });
    return names;
  }

  private async probe(file: string, name: string): Promise<ProbedMedia> {
    let parsed;
    try {
      parsed = await this.mediaProbe.container(file);
    } catch (error) {
      if (!(error instanceof MediaProbeError) || error.startFailed) throw error;
      // ffprobe names the file by its path: the user knows it by its name.
      const reason = error.reasons.length > 0 ? error.reasons.join('; ').slice(0, 500) : error.message.replaceAll(file, name);
      throw new ImportError('invalid_media', 422, `${name} is not a readable media file: ${reason}`);
    }
    const streams = parsed.streams;
    if (parsed.format.format_name === 'tty') throw new ImportError('invalid_media', 422, `${name} is not a readable media file: ffprobe reads it as text, not video`);
    const video = streams.find((entry) => entry.codec_type === 'video' && entry.codec_name && !NOT_VIDEO.has(entry.codec_name));
    if (!video) throw new ImportError('invalid_media', 422, `${name} has no video stream (ffprobe found: ${streams.map((entry) => `${entry.codec_type} ${entry.codec_name}`).join(', ') || 'nothing'})`);
    const audio = streams.find((entry) => entry.codec_type === 'audio' && entry.codec_name);
    const durations = [parsed.format.duration, ...streams.map((entry) => entry.duration)].filter((value): value is number => value !== undefined && Number.isFinite(value) && value > 0);
    if (durations.length === 0) throw new ImportError('invalid_media', 422, `${name} has no duration: ffprobe could not tell how long it is (truncated or still being written?)`);
    return { durationS: Math.max(...durations), videoCodec: video.codec_name!, audioCodec: audio?.codec_name ?? null, formatName: parsed.format.format_name };
  }

  /** Stream copy of the first video and audio stream (no re-encode), timestamps starting at 0. */
  private async copy(source: string, target: string, formatArgs: readonly string[], name: string, inputS: number): Promise<void> {
    const args = ['-loglevel', 'error', '-y', '-i', source, '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy', '-avoid_negative_ts', 'make_zero', ...formatArgs, target];
    try {
      await this.runner.ffmpegRun(args, undefined, { stage: `copying ${name}`, inputS });
    } catch (error) {
      if (!(error instanceof FfmpegError) || error.startFailed) throw error;
      throw new ImportError('invalid_media', 422, `${name} could not be copied without re-encoding: ${error.stderr.split('\n').filter(Boolean).join('; ').slice(0, 500) || error.message}`);
    }
  }
}

/** The imported media of a recording, as its manifest names it; undefined for live recordings. */
export async function importedMedia(recordingDir: string): Promise<{ file: string; bytes: number; contentType: string } | undefined> {
  let block: ImportManifestBlock | undefined;
  try {
    block = (JSON.parse(await readFile(path.join(recordingDir, RecordingManifest.FILE_NAME), 'utf8')) as { import?: ImportManifestBlock }).import;
  } catch {
    return undefined;
  }
  if (!block || typeof block.file !== 'string' || block.file.includes('/')) return undefined;
  const file = path.join(recordingDir, block.file);
  const info = await stat(file).catch(() => undefined);
  return info ? { file, bytes: info.size, contentType: block.contentType } : undefined;
}

function containerFor(media: ProbedMedia): Container {
  const audioFits = (codecs: Set<string>): boolean => media.audioCodec === null || codecs.has(media.audioCodec);
  if (MP4_VIDEO.has(media.videoCodec) && audioFits(MP4_AUDIO)) return 'mp4';
  if (WEBM_VIDEO.has(media.videoCodec) && audioFits(WEBM_AUDIO)) return 'webm';
  return 'mkv';
}

function writeSynced(file: string, text: string): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
