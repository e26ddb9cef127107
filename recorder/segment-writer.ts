import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { MatroskaLiveWriter, type MatroskaAudioTrack, type MatroskaVideoTrack } from '../core/media/matroska-live-writer.js';
import type { MediaKind, SegmentRow } from './recording-catalog.js';

export type CompletedSegment = Omit<SegmentRow, 'recordingId'>;

export interface SegmentWriterOptions {
  /** The recording's folder; segments go to `<kind>/NNNNNN.mkv` inside it. */
  recordingDir: string;
  kind: MediaKind;
  /** Longest segment wanted; keyframes are asked for from segmentS − 1 s, and the first one from then on (but not before segmentS / 2) ends it. */
  segmentS: number;
  audio?: MatroskaAudioTrack;
  /** Called with each segment once it is finished (the next one began, or close()). */
  onSegment: (segment: CompletedSegment) => void;
  /** Asked when the segment nears its end and no keyframe has come yet. */
  requestKeyframe: () => void;
}

interface OpenSegment {
  index: number;
  file: string;
  fd: number;
  writer: MatroskaLiveWriter;
  startMs: number;
  lastVideoMs: number;
  bytes: number;
}

/**
 * Keyframes are asked for this long before segmentS, and a segment ends at the first one from then on: the
 * first one asked for (~50 ms later from Chromium) ends it, and if it is lost or late, the next ask (the
 * stream sends one every 500 ms) still lands within segmentS. (Cutting only from segmentS − 0.5 s wasted it.)
 */
const KEYFRAME_LEAD_S = 1;

/** Matroska segment names sort in order: six digits are 46 days of 4 s segments. */
export function segmentFileName(kind: MediaKind, index: number): string {
  return `${kind}/${String(index).padStart(6, '0')}.mkv`;
}

/**
 * Writes one track set (video, maybe Opus audio) as a series of live Matroska files, each starting at
 * a keyframe. Timestamps are session milliseconds, kept as they are, so every segment sits on the
 * session clock. MatroskaLiveWriter hands over whole elements, and each goes to the file in one write,
 * so a process killed at any moment leaves a readable file that ends at the last whole frame.
 */
export class SegmentWriter {
  private current: OpenSegment | undefined;
  private nextIndex = 0;
  private video: MatroskaVideoTrack | undefined;
  private videoKey = '';
  private frameGapMs = 33;
  private isClosed = false;

  constructor(private readonly options: SegmentWriterOptions) {
    mkdirSync(path.join(options.recordingDir, options.kind), { recursive: true });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * `frame` is AVCC for H.264, the raw frame for VP8. Keyframes come with their track description
   * (a new SPS or size starts a new segment, since a Matroska track cannot change mid-file).
   */
  writeVideo(frame: Buffer, timeMs: number, keyframe: boolean, track: MatroskaVideoTrack | undefined): void {
    if (this.isClosed) return;
    const segment = this.current;
    const segmentMs = segment ? timeMs - segment.startMs : 0;
    const askMs = (this.options.segmentS - KEYFRAME_LEAD_S) * 1000;
    if (keyframe && track) {
      const key = trackKey(track);
      const changed = key !== this.videoKey;
      // A short segmentS (1 s) still makes segments of at least half of it.
      if (!segment || changed || segmentMs >= Math.max(askMs, this.options.segmentS * 500)) {
        this.video = track;
        this.videoKey = key;
        this.startSegment(timeMs);
      }
    } else if (!segment) {
      this.options.requestKeyframe();
      return;
    } else if (segmentMs >= askMs) {
      this.options.requestKeyframe();
    }
    const open = this.current!;
    if (timeMs > open.lastVideoMs && open.lastVideoMs >= open.startMs) this.frameGapMs = Math.min(200, timeMs - open.lastVideoMs);
    open.lastVideoMs = Math.max(open.lastVideoMs, timeMs);
    open.writer.writeVideo(frame, timeMs, keyframe);
  }

  writeAudio(packet: Buffer, timeMs: number): void {
    if (this.isClosed || !this.current || !this.options.audio) return;
    this.current.writer.writeAudio(packet, timeMs);
  }

  /** Finishes the segment in progress. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.finishSegment(this.current ? this.current.lastVideoMs + this.frameGapMs : 0);
  }

  private startSegment(timeMs: number): void {
    this.finishSegment(timeMs);
    const index = this.nextIndex++;
    const file = segmentFileName(this.options.kind, index);
    const fd = openSync(path.join(this.options.recordingDir, file), 'w');
    // The writer's sink counts into the segment it belongs to, so the writer is added second.
    const open = { index, file, fd, startMs: timeMs, lastVideoMs: timeMs - 1, bytes: 0 } as OpenSegment;
    open.writer = new MatroskaLiveWriter({ video: this.video!, ...(this.options.audio ? { audio: this.options.audio } : {}) }, (bytes) => {
      // One write per element: a crash cuts the file between whole elements.
      writeSync(open.fd, bytes);
      open.bytes += bytes.length;
    });
    this.current = open;
  }

  private finishSegment(endMs: number): void {
    const segment = this.current;
    if (!segment) return;
    this.current = undefined;
    segment.writer.close();
    closeSync(segment.fd);
    const durationMs = Math.max(0, endMs - segment.startMs);
    this.options.onSegment({ kind: this.options.kind, index: segment.index, file: segment.file, startS: Math.round(segment.startMs) / 1000, durationS: Math.round(durationMs) / 1000, bytes: segment.bytes });
  }
}

function trackKey(track: MatroskaVideoTrack): string {
  return track.codec === 'H264' ? `H264:${track.width}x${track.height}:${track.avcDecoderConfig.toString('hex')}` : `VP8:${track.width}x${track.height}`;
}
