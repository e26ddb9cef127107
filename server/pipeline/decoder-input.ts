// The decoder's stdin as the pipeline worker feeds it: bounded, whole access units only, and a
// (re)started decoder sees a keyframe first. Under overload frames are dropped here, never queued
// without end (the queued IVF headers would be overwritten, and the decoder would read garbage).
import type { Writable } from 'node:stream';
import { containsIdrSlice, splitAnnexB } from '../../core/rtp/h264-nal.js';
import { IvfWriter } from '../../core/media/ivf-writer.js';
import type { VideoCodecName } from '../../core/live-media.js';
import { DECODE_LEAK_MS, TimingQueue, type PendingFrame } from './timing-queue.js';

export interface DecoderInputOptions {
  codec: VideoCodecName;
  /** Frames written and not yet decoded past which new input is dropped until the next keyframe. */
  maxBacklogFrames?: number;
  /** Frames whose bytes Node still holds for the pipe; kept far under IvfWriter's header ring. */
  maxPendingWrites?: number;
  /** No output for this long while frames wait in the decoder (and input keeps coming): stuck, not slow. */
  stuckAfterMs?: number;
  now: () => number;
}

/** What happened to one offered frame. */
export type DecoderOffer =
  | 'written'
  /** Not written: the decoder has not had a keyframe since it started or since input was dropped. */
  | 'waiting-for-keyframe'
  /** Not written: the decoder is behind (its backlog or the pipe's is full); the next keyframe resumes it. */
  | 'dropped'
  /** Not written: no decoder is running (it is being restarted). */
  | 'no-decoder';

/** The first frame a (re)started decoder was given, and how long it waited for it. */
export interface DecoderResume {
  /** Whether that first frame holds an IDR slice (H.264) or is a VP8 keyframe, read from its bytes. */
  keyframe: boolean;
  /** Frames offered to this decoder before that one (skipped while waiting for a keyframe). */
  framesSkipped: number;
  waitedMs: number;
  restart: boolean;
}

const DEFAULT_MAX_BACKLOG_FRAMES = 16;
const DEFAULT_MAX_PENDING_WRITES = 4;
const DEFAULT_STUCK_AFTER_MS = 10_000;
/** Input counts as still coming if a frame was offered this recently (a publisher pause is not a stuck decoder). */
const INPUT_RECENT_MS = 2000;
/** While frames are skipped until a keyframe, the publisher is asked for one at most this often. */
const KEYFRAME_REQUEST_GAP_MS = 500;

export class DecoderInput {
  private readonly ivf = new IvfWriter();
  private readonly timings: TimingQueue;
  private readonly maxBacklogFrames: number;
  private readonly maxPendingWrites: number;
  private readonly stuckAfterMs: number;
  private stdin: Writable | undefined;
  private waitingForKeyframe = true;
  private pendingWrites = 0;
  private attachedMs = 0;
  private attachedAsRestart = false;
  private framesBeforeFirst = 0;
  private firstWritten = false;
  /** Since when written frames have waited without any output (0: none waiting). */
  private waitingSinceMs = 0;
  private lastOfferMs = 0;
  private lastKeyframeRequestMs = Number.NEGATIVE_INFINITY;
  /** Frames are skipped because input was dropped (not a decoder's first wait, which the stream's own requests cover). */
  private skippingAfterDrop = false;
  /** Frames dropped because the decoder was behind (not those skipped while waiting for a keyframe). */
  framesDropped = 0;
  /** Called once per decoder with the first frame it was given. */
  onResume: ((resume: DecoderResume) => void) | undefined;
  /** The current decoder's write callback (one per decoder, not per frame): a dead decoder's late callbacks count for nothing. */
  private written: () => void = () => {};

  constructor(private readonly options: DecoderInputOptions) {
    this.maxBacklogFrames = options.maxBacklogFrames ?? DEFAULT_MAX_BACKLOG_FRAMES;
    this.maxPendingWrites = options.maxPendingWrites ?? DEFAULT_MAX_PENDING_WRITES;
    this.stuckAfterMs = options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
    this.timings = new TimingQueue(Math.max(64, this.maxBacklogFrames + 1));
  }

  /** A new decoder is running: it gets the IVF file header, then nothing until a keyframe. */
  attach(stdin: Writable, width: number, height: number, restart: boolean): void {
    this.stdin = stdin;
    this.timings.clear();
    this.pendingWrites = 0;
    this.waitingForKeyframe = true;
    this.firstWritten = false;
    this.framesBeforeFirst = 0;
    this.attachedMs = this.options.now();
    this.attachedAsRestart = restart;
    this.waitingSinceMs = 0;
    this.written = () => {
      if (this.stdin === stdin) this.pendingWrites--;
    };
    stdin.write(IvfWriter.fileHeader(this.options.codec, width, height));
  }

  /** Frames written and not yet answered. */
  get backlog(): number {
    return this.timings.length;
  }

  /**
   * Offers one access unit. `current` is the running decoder's stdin (undefined while it restarts);
   * a frame is written whole or not at all, and after a drop only a keyframe is written again.
   */
  offer(current: Writable | undefined, data: Buffer, rtpTimestamp: number, captureMs: number, keyframe: boolean): DecoderOffer {
    const now = this.options.now();
    this.lastOfferMs = now;
    if (!current || current !== this.stdin || !current.writable) return 'no-decoder';
    if (this.waitingForKeyframe && !keyframe) {
      if (!this.firstWritten) this.framesBeforeFirst++;
      return 'waiting-for-keyframe';
    }
    // The frames the decoder never answered (undecodable ones) leave the backlog after a while.
    this.timings.dropUnanswered(now, DECODE_LEAK_MS);
    if (this.timings.length >= this.maxBacklogFrames || this.pendingWrites >= this.maxPendingWrites) {
      // Later frames refer to this one: nothing more until a keyframe, which the caller asks the publisher for.
      this.framesDropped++;
      this.waitingForKeyframe = true;
      this.skippingAfterDrop = true;
      if (!this.firstWritten) this.framesBeforeFirst++;
      return 'dropped';
    }
    this.timings.push(rtpTimestamp, captureMs, now);
    // One count per frame, released when its data (written after its header) has gone into the pipe.
    this.pendingWrites++;
    current.write(this.ivf.frameHeader(data.length, rtpTimestamp));
    current.write(data, this.written);
    this.waitingForKeyframe = false;
    this.skippingAfterDrop = false;
    if (this.waitingSinceMs === 0) this.waitingSinceMs = now;
    if (!this.firstWritten) {
      this.firstWritten = true;
      this.onResume?.({ keyframe: isKeyframeData(this.options.codec, data), framesSkipped: this.framesBeforeFirst, waitedMs: Math.round(now - this.attachedMs), restart: this.attachedAsRestart });
    }
    return 'written';
  }

  /**
   * Whether to ask the publisher for a keyframe after this offer: it was dropped, or skipped since a drop until a keyframe
   * comes, and none was asked for in the last 500 ms. Asked again while none comes: Chromium ignores a request made just
   * after its last keyframe. (A decoder's first wait is covered by the stream's own requests.)
   */
  keyframeRequestDue(offer: DecoderOffer): boolean {
    if (offer !== 'dropped' && !(offer === 'waiting-for-keyframe' && this.skippingAfterDrop)) return false;
    const now = this.options.now();
    if (now - this.lastKeyframeRequestMs < KEYFRAME_REQUEST_GAP_MS) return false;
    this.lastKeyframeRequestMs = now;
    return true;
  }

  /** The decoder wrote something (part of a picture is progress too). */
  noteOutput(): void {
    this.waitingSinceMs = this.timings.length > 0 ? this.options.now() : 0;
  }

  /** The timing record of a decoded picture, after taking out the records of frames the decoder never answered; `dropped` counts those. */
  takeDecoded(): { timing: PendingFrame | undefined; unanswered: number } {
    const unanswered = this.timings.dropUnanswered(this.options.now(), DECODE_LEAK_MS);
    const timing = this.timings.shift();
    if (this.timings.length === 0) this.waitingSinceMs = 0;
    return { timing, unanswered };
  }

  /** How long written frames have waited without any output (0: none waiting). */
  silentMs(now: number): number {
    return this.waitingSinceMs > 0 ? now - this.waitingSinceMs : 0;
  }

  /**
   * True when the decoder is stuck rather than slow: frames have waited in it for `stuckAfterMs` with
   * not one byte of output, while input kept coming. A slow decoder keeps writing and is left alone.
   */
  stuck(now: number): boolean {
    return this.waitingSinceMs > 0 && now - this.waitingSinceMs >= this.stuckAfterMs && now - this.lastOfferMs <= INPUT_RECENT_MS;
  }
}

/** Read from the frame's bytes, not from the flag it came with. */
function isKeyframeData(codec: VideoCodecName, data: Buffer): boolean {
  if (codec === 'VP8') return data.length > 0 && (data[0]! & 0x01) === 0;
  return containsIdrSlice(splitAnnexB(data));
}
