import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.js';
import { MediaProbe } from '../core/media/media-probe.js';
import { ProcessRunner } from '../core/process/process-runner.js';
import { LivefxError } from '../core/errors.js';
import type { AudienceFeed, StreamSource } from './live-source.js';
import type { MediaKind, RecordingCatalogStore } from './recording-catalog.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { RecordingExporter, type ExportedMedia } from './recording-exporter.js';
import { RecordingRecovery, type RecoveryReport } from './recovery.js';
import { SessionRecorder } from './session-recorder.js';
import { DiskGuard, type StatfsFunction } from './disk-guard.js';
import { importedMedia, RecordingImporter } from './recording-importer.js';
import { RecordingRetention } from './retention.js';

export interface RecorderOptions {
  /** Where recordings are listed (livefx.db by default; any store that returns Promises). */
  catalog: RecordingCatalogStore;
  /** The catalog is shared by several nodes (LIVEFX_DATABASE_URL): recovery and retention touch only the recordings whose folders are in this data directory. */
  sharedCatalog?: boolean | undefined;
  dataDir: string;
  segmentS: number;
  ffmpeg: string;
  ffprobe: string;
  log: Logger;
  /** Below this much free space in the recordings folder, recording stops (0: no floor). */
  minFreeBytes?: number;
  /** How often the free space is checked (ms). */
  diskCheckIntervalMs?: number;
  /** Replaceable for tests: how free space is measured. */
  statfs?: StatfsFunction;
  /** Retention limits; both undefined (the default): recordings are kept forever. */
  retentionDays?: number | undefined;
  retentionMaxBytes?: number | undefined;
  /** Largest media file an import takes (LIVEFX_IMPORT_MAX_MB). */
  importMaxBytes?: number | undefined;
}

/** What the operator consoles of a stream are told (socket.io `/operator`, event `alert`). */
export interface RecorderAlert {
  streamId: string;
  code: 'disk_low';
  message: string;
}

export type RecorderEvents = {
  /** For the operator consoles of a stream (disk low); the operator namespace forwards them. */
  alert: [alert: RecorderAlert];
};

export class RecordingBusyError extends LivefxError {
  override name = 'RecordingBusyError';
  constructor(message: string) {
    super('recording_in_progress', message);
  }
}

/**
 * The recorder of a server: a SessionRecorder for every stream that goes live (unless it opted out),
 * the catalog, the exporter, and recovery of what a crash left unfinished. Closing it finishes every
 * recording in progress.
 */
export class Recorder extends TypedEmitter<RecorderEvents> {
  readonly catalog: RecordingCatalogStore;
  readonly exporter: RecordingExporter;
  readonly recordingsDir: string;
  readonly importer: RecordingImporter;
  readonly diskGuard: DiskGuard;
  readonly retention: RecordingRetention;
  /** Every ffmpeg/ffprobe child of the recorder (exports, imports, recovery probes) runs through it. */
  readonly runner: ProcessRunner;
  private readonly probe: MediaProbe;
  private readonly sessions = new Map<string, SessionRecorder>();
  /** Sessions that ended and are still writing their end to the catalog. */
  private readonly finishing = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;
  private isClosed = false;

  constructor(private readonly options: RecorderOptions) {
    super();
    this.listenerError = (event, error) => options.log.error({ err: error, event }, 'recorder listener failed');
    this.catalog = options.catalog;
    this.recordingsDir = path.join(options.dataDir, 'recordings');
    this.runner = new ProcessRunner({ ffmpeg: options.ffmpeg, ffprobe: options.ffprobe, label: 'recorder' });
    this.probe = new MediaProbe({ runner: this.runner });
    this.exporter = new RecordingExporter({ catalog: this.catalog, recordingsDir: this.recordingsDir, runner: this.runner });
    this.importer = new RecordingImporter({ catalog: this.catalog, recordingsDir: this.recordingsDir, runner: this.runner, log: options.log, maxBytes: options.importMaxBytes });
    this.diskGuard = new DiskGuard({
      dir: this.recordingsDir,
      minFreeBytes: options.minFreeBytes ?? 0,
      intervalMs: options.diskCheckIntervalMs ?? 5000,
      log: options.log,
      ...(options.statfs ? { statfs: options.statfs } : {}),
    });
    this.diskGuard.on('low', (space, floor) => {
      const message = diskLowMessage(space.freeBytes, floor, 'recording stopped; the stream goes on unrecorded from here');
      for (const session of this.sessions.values()) {
        session.stopMedia('disk_low', message);
        this.alert({ streamId: session.streamId, code: 'disk_low', message });
      }
    });
    this.retention = new RecordingRetention({
      catalog: this.catalog,
      recordingsDir: this.recordingsDir,
      sharedCatalog: options.sharedCatalog,
      maxAgeDays: options.retentionDays,
      maxBytes: options.retentionMaxBytes,
      log: options.log,
      isRecording: (id) => this.sessions.has(id),
    });
  }

  /** Checks free space (then every few seconds) and applies retention (then hourly); run at start-up after recover(). */
  async start(): Promise<void> {
    await mkdir(this.recordingsDir, { recursive: true });
    await this.diskGuard.start();
    await this.retention.start();
  }

  /**
   * One playable file of a finished recording: the imported file itself for imports, else the exporter's.
   * Aborting `signal` stops waiting; the export's ffmpeg is killed once no caller waits for it any more.
   */
  async media(recordingId: string, kind: MediaKind, signal?: AbortSignal): Promise<ExportedMedia> {
    const recording = await this.catalog.get(recordingId);
    if (recording?.state === 'imported') {
      const imported = await importedMedia(path.join(this.recordingsDir, recordingId));
      if (imported) return imported;
    }
    return this.exporter.media(recordingId, kind, signal);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Finalizes recordings left in state `recording` by a crash; run at start-up, before streams exist. */
  async recover(): Promise<RecoveryReport[]> {
    const leftovers = await this.importer.removeLeftovers();
    if (leftovers.length > 0) this.options.log.warn({ folders: leftovers }, 'removed folders of imports that a crash interrupted');
    return new RecordingRecovery({ catalog: this.catalog, recordingsDir: this.recordingsDir, probe: this.probe, log: this.options.log, sharedCatalog: this.options.sharedCatalog }).recoverAll();
  }

  /** Records every stream of the registry that goes live from now on. */
  watch(registry: StreamSource): void {
    registry.on('newstream', (stream) => {
      if (!stream.record) return;
      stream.on('state', (state) => {
        if (state !== 'live' || this.isClosed) return;
        if (this.diskGuard.low) {
          const message = diskLowMessage(this.diskGuard.space?.freeBytes ?? 0, this.diskGuard.minFreeBytes, 'this session is not recorded');
          this.options.log.warn({ streamId: stream.id }, message);
          this.alert({ streamId: stream.id, code: 'disk_low', message });
          return;
        }
        try {
          const session = new SessionRecorder({
            stream,
            catalog: this.catalog,
            recordingsDir: this.recordingsDir,
            segmentS: this.options.segmentS,
            log: this.options.log,
            onClosed: (closed, finished) => {
              this.sessions.delete(closed.id);
              this.finishing.add(finished);
              void finished.finally(() => this.finishing.delete(finished));
            },
          });
          this.sessions.set(session.id, session);
        } catch (error) {
          // A recording that cannot start (disk full, …) must not take the stream down.
          this.options.log.error({ err: error, streamId: stream.id }, 'recording could not start; the stream goes on unrecorded');
        }
      });
    });
  }

  /** Archives the audience of recorded streams: every chat message, reaction and moderation action, at the time the server got it. */
  listenTo(audience: AudienceFeed): void {
    audience.on('chat', ({ streamId, id, user, text, viewerId, at }) => this.sessionOfStream(streamId)?.appendEvent('chat', { id, user, text, viewerId }, at));
    audience.on('reaction', ({ streamId, user, kind, at }) => this.sessionOfStream(streamId)?.appendEvent('reaction', { user, kind }, at));
    audience.on('moderation', ({ streamId, at, ...action }) => this.sessionOfStream(streamId)?.appendEvent('moderation', { ...action }, at));
  }

  /** True while the recording's session is live. */
  isRecording(recordingId: string): boolean {
    return this.sessions.has(recordingId);
  }

  /** The live session recorder of a stream, for events from other parts (chat, reactions, transcripts). */
  sessionOfStream(streamId: string): SessionRecorder | undefined {
    for (const session of this.sessions.values()) if (session.streamId === streamId) return session;
    return undefined;
  }

  private alert(alert: RecorderAlert): void {
    this.safeEmit('alert', alert);
  }

  /** Deletes a finished recording: catalog rows, then its folder. */
  async delete(recordingId: string): Promise<boolean> {
    const recording = await this.catalog.get(recordingId);
    if (!recording) return false;
    if (recording.state === 'recording') throw new RecordingBusyError(`recording ${recordingId} is still in progress; end the stream first`);
    await this.catalog.delete(recordingId);
    await rm(path.join(this.recordingsDir, recordingId), { recursive: true, force: true });
    return true;
  }

  /**
   * Finishes every recording in progress (marked complete); resolves once every ended session has
   * written its end to the catalog (before the database closes). Idempotent: every call gets the same promise.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.isClosed = true;
      this.diskGuard.close();
      this.retention.close();
      for (const session of [...this.sessions.values()]) void session.close();
      this.sessions.clear();
      await Promise.all([...this.finishing]);
    })();
    return this.closing;
  }
}

function diskLowMessage(freeBytes: number, floorBytes: number, consequence: string): string {
  const mb = (bytes: number): number => Math.floor(bytes / 2 ** 20);
  return `free disk space for recordings is ${mb(freeBytes)} MB, below the ${mb(floorBytes)} MB floor (LIVEFX_RECORD_MIN_FREE_MB): ${consequence}`;
}
