import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ChainSpec } from '../transforms/chain-spec.js';
import type { Logger } from '../core/logger.js';
import { buildAvcDecoderConfig } from '../core/media/avc-decoder-config.js';
import type { MatroskaAudioTrack, MatroskaVideoTrack } from '../core/media/matroska-live-writer.js';
import { NalType, joinAvcc, nalType, splitAnnexB, splitAvcc } from '../core/rtp/h264-nal.js';
import { parseH264Sps } from '../core/rtp/h264-sps.js';
import type { AssembledFrame } from '../core/rtp/rtp-frame-assembler.js';
import type { LiveSignalBatch, LiveWord, StreamState } from '../core/live-media.js';
import type { EncodedAccessUnit, LiveMediaTap } from '../core/live-tap.js';
import type { RecordableStream, ViewerCounts } from './live-source.js';
import { EventLog } from './event-log.js';
import type { RecordingCatalogStore, RecordingRow } from './recording-catalog.js';
import { RecordingManifest } from './recording-manifest.js';
import { SegmentWriter, type CompletedSegment } from './segment-writer.js';

export interface SessionRecorderOptions {
  stream: RecordableStream;
  catalog: RecordingCatalogStore;
  /** `$LIVEFX_DATA_DIR/recordings`. */
  recordingsDir: string;
  segmentS: number;
  log: Logger;
  /** Called when the recording ends; `finished` resolves once it is complete in the catalog and its event log is closed. */
  onClosed: (recorder: SessionRecorder, finished: Promise<void>) => void;
}

const OPUS_TRACK: MatroskaAudioTrack = { codec: 'opus', sampleRate: 48000, channels: 2 };

/**
 * Records one live session from its first frame: the publisher's video and Opus audio as they came
 * (stream copy, `original/`), the encoder's output with the same audio (`transformed/`), and the event
 * log, all on one clock: seconds since the stream went live. Runs on the event loop but only moves
 * compressed frames into files (no pixel work, no extra processes).
 */
export class SessionRecorder implements LiveMediaTap {
  readonly id = randomBytes(8).toString('hex');
  readonly dir: string;
  /** Epoch milliseconds of session time 0 (the stream went live). */
  readonly originMs: number;
  private readonly recording: RecordingRow;
  private readonly events: EventLog;
  private readonly original: SegmentWriter;
  private readonly transformed: SegmentWriter;
  private readonly detachTap: () => void;
  private readonly hasAudio: boolean;
  private originalCodec: 'H264' | 'VP8' | null = null;
  private originalTrack: MatroskaVideoTrack | undefined;
  private originalSps: Buffer | undefined;
  private originalPps: Buffer | undefined;
  private transformedTrack: MatroskaVideoTrack | undefined;
  private transformedSps: Buffer | undefined;
  private transformedPps: Buffer | undefined;
  private viewers = { webrtc: -1, hls: -1 };
  private failed = false;
  private mediaStopped = false;
  private isClosed = false;
  private closing: Promise<void> | undefined;
  /** The catalog writes of this recording, in order: the row first, then segments, then the end. */
  private catalogWrites: Promise<unknown>;
  /** After the media is finished: the transcript words the speech engine still flushes while the pipeline closes. */
  private lateWordsOpen = false;

  private readonly onState = (state: StreamState): void => {
    if (state !== 'ended') return;
    this.close(this.options.stream.endReason ?? 'stream ended', { lateWords: true });
  };
  private readonly onChain = (chain: ChainSpec, changedBy: string): void => {
    this.appendEvent('chain', { changedBy, transforms: chain.transforms.map((entry) => ({ name: entry.name, enabled: entry.enabled, params: entry.params })) });
  };
  private readonly onStats = (stats: { viewers: ViewerCounts }): void => this.noteViewers(stats.viewers);
  /** The live transcript: each committed word at the time it was said (t = start, end, conf). */
  private readonly onWords = (words: LiveWord[]): void => {
    for (const word of words) {
      this.appendLateOrLive('transcript-word', { word: word.word, end: this.events.sessionTime(word.endMs), ...(word.conf !== undefined ? { conf: word.conf } : {}) }, word.startMs);
    }
  };
  private readonly onCaptionGap = (atMs: number, reason: string): void => this.appendLateOrLive('caption-gap', { reason }, atMs);
  /** A network interruption the session survived: logged at its start, with its length. */
  private readonly onMediaGap = (fromMs: number, durationMs: number): void => this.appendEvent('media-gap', { durationS: Math.round(durationMs) / 1000 }, fromMs);
  /** Live signals for highlights: `t` = the first slot, `slot` seconds each; cut candidates as [seconds after t, score]. */
  private readonly onSignals = (batch: LiveSignalBatch): void => {
    const t = this.events.sessionTime(batch.startMs);
    const payload: Record<string, unknown> = { source: batch.source, slot: batch.slotMs / 1000, values: batch.values };
    if (batch.cuts) payload.cuts = batch.cuts.map(([atMs, score]) => [Math.round(Math.max(0, this.events.sessionTime(atMs) - t) * 1000) / 1000, score]);
    this.appendLateOrLive('signal', payload, batch.startMs);
  };

  constructor(private readonly options: SessionRecorderOptions) {
    const { stream, catalog } = options;
    this.originMs = performance.timeOrigin + performance.now();
    this.dir = path.join(options.recordingsDir, this.id);
    mkdirSync(this.dir, { recursive: true });
    this.hasAudio = stream.publisherHasAudio;
    this.recording = {
      id: this.id,
      streamId: stream.id,
      title: stream.title,
      state: 'recording',
      startedAt: new Date(this.originMs).toISOString(),
      endedAt: null,
      durationS: 0,
    };
    // Media and events start at once (the first keyframe must not wait for the catalog); their rows follow the recording's.
    const created = catalog.create({ ...this.recording });
    this.catalogWrites = created.catch((error: unknown) => options.log.error({ err: error, recordingId: this.id }, 'recording could not be added to the catalog (recovery adds nothing without its row)'));
    this.writeManifest();
    this.events = new EventLog({
      catalog,
      recordingId: this.id,
      file: path.join(this.dir, EventLog.FILE_NAME),
      originMs: this.originMs,
      after: this.catalogWrites,
      onError: (error) => options.log.error({ err: error, recordingId: this.id }, 'recording events could not be written to the catalog (kept in events.jsonl)'),
    });
    const segmentOptions = { recordingDir: this.dir, segmentS: options.segmentS, ...(this.hasAudio ? { audio: OPUS_TRACK } : {}), onSegment: (segment: CompletedSegment) => this.onSegment(segment) };
    this.original = new SegmentWriter({ ...segmentOptions, kind: 'original', requestKeyframe: () => stream.requestPublisherKeyframe('recording segment') });
    this.transformed = new SegmentWriter({ ...segmentOptions, kind: 'transformed', requestKeyframe: () => stream.requestProcessedKeyframe() });
    this.events.append('state', { state: 'live' }, this.originMs);
    this.noteViewers(stream.stats().viewers);
    stream.on('state', this.onState);
    stream.on('chain', this.onChain);
    stream.on('stats', this.onStats);
    stream.on('transcript-words', this.onWords);
    stream.on('caption-gap', this.onCaptionGap);
    stream.on('media-gap', this.onMediaGap);
    stream.on('signals', this.onSignals);
    this.detachTap = stream.addMediaTap(this);
    options.log.info({ streamId: stream.id, recordingId: this.id, dir: this.dir }, 'recording started');
  }

  get streamId(): string {
    return this.options.stream.id;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Appends an event of any type on this session's clock (chat, reactions, transcript words, …), at `atMs` (epoch ms) or now. */
  appendEvent(type: string, payload: Record<string, unknown>, atMs?: number): void {
    if (this.isClosed) return;
    try {
      this.events.append(type, payload, atMs);
    } catch (error) {
      this.options.log.error({ err: error, recordingId: this.id, type }, 'recording event could not be appended');
    }
  }

  originalVideo(frame: AssembledFrame): void {
    if (this.isClosed || this.failed) return;
    this.guard(() => {
      const timeMs = this.sessionMs(frame.firstPacketMs);
      if (this.originalCodec === null) {
        this.originalCodec = frame.codec;
        this.writeManifest();
      }
      if (frame.codec === 'VP8') {
        if (frame.keyframe && frame.width && frame.height) this.originalTrack = { codec: 'VP8', width: frame.width, height: frame.height };
        this.original.writeVideo(frame.data, timeMs, frame.keyframe, frame.keyframe ? this.originalTrack : undefined);
        return;
      }
      const nalUnits = splitAnnexB(frame.data);
      if (frame.keyframe) {
        const sps = nalUnits.find((nal) => nalType(nal) === NalType.Sps) ?? this.originalSps;
        const pps = nalUnits.find((nal) => nalType(nal) === NalType.Pps) ?? this.originalPps;
        if (sps && pps && (!this.originalTrack || !sps.equals(this.originalSps!) || !pps.equals(this.originalPps!))) {
          this.originalSps = Buffer.from(sps);
          this.originalPps = Buffer.from(pps);
          this.originalTrack = h264Track(this.originalSps, this.originalPps);
        }
      }
      this.original.writeVideo(joinAvcc(nalUnits), timeMs, frame.keyframe, frame.keyframe ? this.originalTrack : undefined);
    });
  }

  originalAudio(payload: Buffer, arrivalMs: number): void {
    if (this.isClosed || this.failed || !this.hasAudio) return;
    this.guard(() => {
      const timeMs = this.sessionMs(arrivalMs);
      this.original.writeAudio(payload, timeMs);
      this.transformed.writeAudio(payload, timeMs);
    });
  }

  transformedVideo(unit: EncodedAccessUnit): void {
    if (this.isClosed || this.failed) return;
    this.guard(() => {
      if (unit.keyframe) {
        const nalUnits = splitAvcc(unit.data);
        const sps = nalUnits.find((nal) => nalType(nal) === NalType.Sps);
        const pps = nalUnits.find((nal) => nalType(nal) === NalType.Pps);
        if (sps && pps && (!this.transformedTrack || !sps.equals(this.transformedSps!) || !pps.equals(this.transformedPps!))) {
          this.transformedSps = Buffer.from(sps);
          this.transformedPps = Buffer.from(pps);
          this.transformedTrack = h264Track(this.transformedSps, this.transformedPps);
        }
      }
      this.transformed.writeVideo(unit.data, this.sessionMs(unit.captureMs), unit.keyframe, unit.keyframe ? this.transformedTrack : undefined);
    });
  }

  /**
   * Stops writing media (the segments in progress are finished) and logs a `recording-stopped` event
   * saying why; the stream goes on, events are still logged, and the recording stays `recording` until
   * the stream ends. Idempotent; there is no resume within the same session.
   */
  stopMedia(code: string, message: string): void {
    if (this.isClosed || this.mediaStopped) return;
    this.mediaStopped = true;
    this.failed = true;
    this.original.close();
    this.transformed.close();
    this.appendEvent('recording-stopped', { code, message });
    void this.events.flush();
    this.options.log.warn({ streamId: this.streamId, recordingId: this.id, code }, `recording media stopped: ${message}`);
  }

  /**
   * Finishes the segments in progress, logs the end, flushes the event log and marks the recording
   * complete (catalog and manifest). Idempotent: every call gets the same promise, which resolves once
   * the catalog has the end and the event log is closed (the recorder's close awaits it before the database goes).
   */
  close(reason = 'server shutting down', options: { lateWords?: boolean } = {}): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.finish(reason, options);
    this.options.onClosed(this, this.closing);
    return this.closing;
  }

  private async finish(reason: string, options: { lateWords?: boolean }): Promise<void> {
    const endMs = performance.timeOrigin + performance.now();
    this.detachTap();
    this.options.stream.off('state', this.onState);
    this.options.stream.off('chain', this.onChain);
    this.options.stream.off('stats', this.onStats);
    this.options.stream.off('media-gap', this.onMediaGap);
    this.original.close();
    this.transformed.close();
    this.events.append('state', { state: 'ended', reason }, endMs);
    this.isClosed = true;
    let eventLogClosed: Promise<void>;
    if (options.lateWords) {
      // The speech engine finishes the utterance in progress while the pipeline closes: those words
      // belong to the transcript. The stream's closing promise exists once this event has returned.
      this.lateWordsOpen = true;
      eventLogClosed = new Promise<void>((resolve) => queueMicrotask(() => resolve(this.options.stream.whenClosed.finally(() => this.closeEventLog()))));
    } else {
      eventLogClosed = this.closeEventLog();
    }
    const durationS = Math.round(endMs - this.originMs) / 1000;
    const endedAt = new Date(endMs).toISOString();
    // `complete` means everything of the session is in: the catalog and manifest say so only once the
    // event log has taken the late words, so a reader who sees `complete` sees the final counts.
    await eventLogClosed.catch((error: unknown) => this.options.log.error({ err: error, recordingId: this.id }, 'recording event log could not be closed'));
    this.recording.state = 'complete';
    this.recording.endedAt = endedAt;
    this.recording.durationS = durationS;
    this.catalogWrite(() => this.options.catalog.finish(this.id, 'complete', endedAt, durationS), 'recording end');
    this.writeManifest();
    this.options.log.info({ streamId: this.streamId, recordingId: this.id, durationS }, 'recording complete');
    await this.catalogWrites;
  }

  /** Queues one catalog write after the earlier ones; a failure is logged (the files on disk stay, recovery can rebuild). */
  private catalogWrite(write: () => Promise<unknown>, what: string): void {
    this.catalogWrites = this.catalogWrites.then(write).catch((error: unknown) => this.options.log.error({ err: error, recordingId: this.id }, `${what} could not be written to the catalog`));
  }

  private appendLateOrLive(type: string, payload: Record<string, unknown>, atMs: number): void {
    if (!this.isClosed) return this.appendEvent(type, payload, atMs);
    if (!this.lateWordsOpen) return;
    try {
      this.events.append(type, payload, atMs);
    } catch (error) {
      this.options.log.error({ err: error, recordingId: this.id, type }, 'recording event could not be appended');
    }
  }

  private closeEventLog(): Promise<void> {
    this.lateWordsOpen = false;
    this.options.stream.off('transcript-words', this.onWords);
    this.options.stream.off('caption-gap', this.onCaptionGap);
    this.options.stream.off('signals', this.onSignals);
    return this.events.close();
  }

  /** The first packet arrived a moment before the stream announced it was live: that moment is time 0. */
  private sessionMs(epochMs: number): number {
    return Math.max(0, epochMs - this.originMs);
  }

  private onSegment(segment: CompletedSegment): void {
    this.catalogWrite(() => this.options.catalog.addSegment({ ...segment, recordingId: this.id }), `segment ${segment.file}`);
  }

  private noteViewers(viewers: { webrtc: number; hls: number }): void {
    if (viewers.webrtc === this.viewers.webrtc && viewers.hls === this.viewers.hls) return;
    this.viewers = { ...viewers };
    this.appendEvent('viewers', { webrtc: viewers.webrtc, hls: viewers.hls, count: viewers.webrtc + viewers.hls });
  }

  /** A write that fails (disk full, …) stops this recording's media; the stream keeps going. */
  private guard(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.failed = true;
      this.options.log.error({ err: error, recordingId: this.id, streamId: this.streamId }, 'recording media could not be written; media recording stopped');
      this.appendEvent('recording-error', { message: error instanceof Error ? error.message : String(error) });
    }
  }

  private writeManifest(): void {
    RecordingManifest.write(this.dir, this.recording, { originalCodec: this.originalCodec, hasAudio: this.hasAudio, segmentS: this.options.segmentS });
  }
}

function h264Track(sps: Buffer, pps: Buffer): MatroskaVideoTrack {
  const info = parseH264Sps(sps);
  return { codec: 'H264', width: info.width, height: info.height, avcDecoderConfig: buildAvcDecoderConfig(sps, pps) };
}
