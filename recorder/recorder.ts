import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { AudienceHub } from '../server/audience/audience-hub.js';
import type { Logger } from '../server/logger.js';
import type { StreamRegistry } from '../server/streams/stream-registry.js';
import { RecordingCatalog } from './recording-catalog.js';
import { RecordingExporter } from './recording-exporter.js';
import { RecordingRecovery, type RecoveryReport } from './recovery.js';
import { SessionRecorder } from './session-recorder.js';

export interface RecorderOptions {
  db: Database;
  dataDir: string;
  segmentS: number;
  ffmpeg: string;
  ffprobe: string;
  log: Logger;
}

export class RecordingBusyError extends Error {
  override readonly name = 'RecordingBusyError';
}

/**
 * The recorder of a server: a SessionRecorder for every stream that goes live (unless it opted out),
 * the catalog, the exporter, and recovery of what a crash left unfinished. Closing it finishes every
 * recording in progress.
 */
export class Recorder {
  readonly catalog: RecordingCatalog;
  readonly exporter: RecordingExporter;
  readonly recordingsDir: string;
  private readonly sessions = new Map<string, SessionRecorder>();
  private isClosed = false;

  constructor(private readonly options: RecorderOptions) {
    this.catalog = new RecordingCatalog(options.db);
    this.recordingsDir = path.join(options.dataDir, 'recordings');
    this.exporter = new RecordingExporter(this.catalog, this.recordingsDir, options.ffmpeg);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Finalizes recordings left in state `recording` by a crash; run at start-up, before streams exist. */
  recover(): Promise<RecoveryReport[]> {
    return new RecordingRecovery(this.catalog, this.recordingsDir, this.options.ffprobe, this.options.log).recoverAll();
  }

  /** Records every stream of the registry that goes live from now on. */
  watch(registry: StreamRegistry): void {
    registry.onCreated((stream) => {
      if (!stream.record) return;
      stream.on('state', (state) => {
        if (state !== 'live' || this.isClosed) return;
        try {
          const session = new SessionRecorder({
            stream,
            catalog: this.catalog,
            recordingsDir: this.recordingsDir,
            segmentS: this.options.segmentS,
            log: this.options.log,
            onClosed: (closed) => this.sessions.delete(closed.id),
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
  listenTo(audience: AudienceHub): void {
    audience.on('chat', ({ streamId, id, user, text, at }) => this.sessionOfStream(streamId)?.appendEvent('chat', { id, user, text }, at));
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

  /** Deletes a finished recording: catalog rows, then its folder. */
  async delete(recordingId: string): Promise<boolean> {
    const recording = this.catalog.get(recordingId);
    if (!recording) return false;
    if (recording.state === 'recording') throw new RecordingBusyError(`recording ${recordingId} is still in progress`);
    this.catalog.delete(recordingId);
    await rm(path.join(this.recordingsDir, recordingId), { recursive: true, force: true });
    return true;
  }

  /** Finishes every recording in progress (marked complete). Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const session of [...this.sessions.values()]) session.close();
    this.sessions.clear();
  }
}
