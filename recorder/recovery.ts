import { existsSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../core/logger.js';
import type { MediaProbe } from '../core/media/media-probe.js';
import { EventLog } from './event-log.js';
import { MEDIA_KINDS, type RecordingCatalogStore, type RecordingEvent, type RecordingRow } from './recording-catalog.js';
import { RecordingManifest } from './recording-manifest.js';
import { segmentFileName } from './segment-writer.js';

export interface RecoveryReport {
  recordingId: string;
  /** Segment files found on disk that the catalog did not list, now registered. */
  segmentsRegistered: string[];
  /** Files ffprobe could not read: renamed to `<name>.unreadable`, never deleted. */
  segmentsSetAside: string[];
  /** Events found in events.jsonl that the catalog did not have. */
  eventsReinserted: number;
  /** Lines of events.jsonl that could not be parsed (a line cut by the crash). */
  eventLinesUnreadable: number;
  durationS: number;
}

const SEGMENT_FILE = /^(\d{6})\.mkv$/;

export interface RecordingRecoveryOptions {
  catalog: RecordingCatalogStore;
  /** `$LIVEFX_DATA_DIR/recordings`. */
  recordingsDir: string;
  /** Reads the segments a crash left (ffprobe through the process runner). */
  probe: MediaProbe;
  log: Logger;
  /** The catalog is shared with other nodes: a recording in state `recording` without a folder here is live on another node, not left by a crash. */
  sharedCatalog?: boolean | undefined;
}

const eventLineSchema = z.object({
  seq: z.number().int().positive(),
  t: z.number().min(0),
  type: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
});

/**
 * Finalizes recordings a crash left in state `recording`: registers segment files the catalog missed
 * (ffprobe says where they start and end; an unreadable one is set aside), re-inserts events that
 * reached events.jsonl but not the catalog, recomputes the duration and marks them `recovered`.
 */
export class RecordingRecovery {
  private readonly catalog: RecordingCatalogStore;
  private readonly recordingsDir: string;
  private readonly probe: MediaProbe;
  private readonly log: Logger;
  private readonly sharedCatalog: boolean;

  constructor(options: RecordingRecoveryOptions) {
    ({ catalog: this.catalog, recordingsDir: this.recordingsDir, probe: this.probe, log: this.log } = options);
    this.sharedCatalog = options.sharedCatalog ?? false;
  }

  /** Recovers every unfinished recording; call before any new recording starts. */
  async recoverAll(): Promise<RecoveryReport[]> {
    const reports: RecoveryReport[] = [];
    for (const recording of await this.catalog.inState('recording')) {
      if (this.sharedCatalog && !existsSync(path.join(this.recordingsDir, recording.id))) continue;
      try {
        const report = await this.recover(recording);
        reports.push(report);
        this.log.info(report, 'recording recovered after an unclean shutdown');
      } catch (error) {
        this.log.error({ err: error, recordingId: recording.id }, 'recording could not be recovered; it stays in state "recording"');
      }
    }
    return reports;
  }

  async recover(recording: RecordingRow): Promise<RecoveryReport> {
    const dir = path.join(this.recordingsDir, recording.id);
    const report: RecoveryReport = { recordingId: recording.id, segmentsRegistered: [], segmentsSetAside: [], eventsReinserted: 0, eventLinesUnreadable: 0, durationS: 0 };
    let mediaEndS = 0;
    for (const kind of MEDIA_KINDS) {
      const known = new Map((await this.catalog.segments(recording.id, kind)).map((segment) => [segment.index, segment]));
      for (const segment of known.values()) mediaEndS = Math.max(mediaEndS, segment.startS + segment.durationS);
      const kindDir = path.join(dir, kind);
      const names = existsSync(kindDir) ? readdirSync(kindDir).filter((name) => SEGMENT_FILE.test(name)).sort() : [];
      for (const name of names) {
        const index = Number(SEGMENT_FILE.exec(name)![1]);
        if (known.has(index)) continue;
        const file = path.join(kindDir, name);
        const relative = segmentFileName(kind, index);
        try {
          const probed = await this.probe.packets(file);
          const bytes = statSync(file).size;
          await this.catalog.addSegment({ recordingId: recording.id, kind, index, file: relative, startS: probed.startS, durationS: probed.endS - probed.startS, bytes });
          mediaEndS = Math.max(mediaEndS, probed.endS);
          report.segmentsRegistered.push(relative);
        } catch (error) {
          renameSync(file, `${file}.unreadable`);
          report.segmentsSetAside.push(relative);
          this.log.warn({ err: error, recordingId: recording.id, file: relative }, 'unreadable segment set aside');
        }
      }
    }
    const eventsFile = path.join(dir, EventLog.FILE_NAME);
    if (existsSync(eventsFile)) {
      const have = await this.catalog.eventSeqs(recording.id);
      const missing: RecordingEvent[] = [];
      for (const line of readFileSync(eventsFile, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        let parsed;
        try {
          parsed = eventLineSchema.safeParse(JSON.parse(line));
        } catch {
          parsed = undefined;
        }
        if (!parsed?.success) {
          report.eventLinesUnreadable++;
          continue;
        }
        if (!have.has(parsed.data.seq)) missing.push(parsed.data);
      }
      report.eventsReinserted = await this.catalog.insertEvents(recording.id, missing);
    }
    report.durationS = Math.round(Math.max(mediaEndS, await this.catalog.lastEventTime(recording.id)) * 1000) / 1000;
    const endedAt = new Date(Date.parse(recording.startedAt) + report.durationS * 1000).toISOString();
    await this.catalog.finish(recording.id, 'recovered', endedAt, report.durationS);
    let media = { originalCodec: null as 'H264' | 'VP8' | null, hasAudio: false, segmentS: 4 };
    try {
      media = RecordingManifest.read(dir);
    } catch (error) {
      this.log.warn({ err: error, recordingId: recording.id }, 'manifest unreadable; rewriting it from the catalog');
    }
    const finished = await this.catalog.get(recording.id);
    if (existsSync(dir) && finished) RecordingManifest.write(dir, finished, { originalCodec: media.originalCodec, hasAudio: media.hasAudio, segmentS: media.segmentS });
    return report;
  }
}
