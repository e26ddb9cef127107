/**
 * Frames raw I420 pictures into live Matroska (V_UNCOMPRESSED) for the encoder's stdin, so every
 * frame carries a timestamp we choose. A keyframe request travels in that timestamp: normal frames
 * get even milliseconds, a requested keyframe an odd one, and the encoder's
 * `-force_key_frames` expression (encoderKeyframeExpression) turns odd into an IDR. ffmpeg must
 * keep the timestamps as written (`-copyts`), or its start-time shift could flip the parity.
 * ffmpeg's command line has no other way to take a keyframe request at run time.
 */
const HEADER_RING = 64;
/** Raw pictures go in 8-byte-size SimpleBlocks, so every block header has the same layout. */
const BLOCK_SIZE_BYTES = 8;
const BLOCK_HEADER_BYTES = 1 + BLOCK_SIZE_BYTES + BLOCK_PREFIX_BYTES;
const TRACK = 1;
/** Cluster timestamps as 8-byte unsigned integers, as this writer has always written them. */
const CLUSTER_TIMESTAMP_BYTES = 8;
/** Cluster timestamps are 64-bit; block timestamps are int16 ms relative to their cluster. */
const CLUSTER_SPAN_MS = 30_000;

import { FfmpegCommand } from '../process/ffmpeg-command.js';
import { BLOCK_PREFIX_BYTES, KEYFRAME_FLAG, MAX_CLUSTER_HEADER_BYTES, MatroskaId, MatroskaTrackType, NANOSECONDS_PER_TIMESTAMP, element, streamStart, text, unsigned, writeClusterStart, writeSimpleBlockHeader } from './ebml-writer.js';

export interface EncoderSettings {
  width: number;
  height: number;
  kbps: number;
  keyframeIntervalS: number;
  /** Nominal frame rate for rate control; frames keep their own timestamps. */
  fps: number;
}

/**
 * The encoder's ffmpeg arguments: this writer's Matroska on stdin, H.264 (libx264 zerolatency,
 * constrained baseline, one thread) as FLV on stdout, with keyframes where the writer asks.
 */
export function encoderArgs(settings: EncoderSettings): string[] {
  return new FfmpegCommand()
    .global({ copyts: true })
    .input('pipe:0', { probesize: 32, analyzeduration: 0, f: 'matroska' })
    .output('pipe:1', {
      'c:v': 'libx264',
      preset: 'ultrafast',
      tune: 'zerolatency',
      'profile:v': 'baseline',
      threads: 1,
      bf: 0,
      'b:v': `${settings.kbps}k`,
      maxrate: `${settings.kbps}k`,
      bufsize: `${Math.round(settings.kbps / 2)}k`,
      force_key_frames: encoderKeyframeExpression(settings.keyframeIntervalS),
      // x264's rate control budgets bits per frame from the frame rate; without -r it would take the
      // 1 ms time base for 1000 fps and starve every frame (measured: 107 kbit/s of 2500 asked).
      r: settings.fps,
      // ...while the encoder keeps the input's 1 ms time base, so the keyframe parity survives.
      enc_time_base: -1,
      fps_mode: 'passthrough',
      flush_packets: 1,
      f: 'flv',
    })
    .toArgs();
}

/** The ffmpeg `-force_key_frames` value matching this writer: odd ms → keyframe, else every `intervalS`. */
export function encoderKeyframeExpression(intervalS: number): string {
  // prev_forced_t is NaN until the first forced keyframe: without isnan() no periodic keyframe would ever come.
  return `expr:if(eq(mod(round(t*1000),2),1),1,if(isnan(prev_forced_t),gte(t,${intervalS}),gte(t,prev_forced_t+${intervalS})))`;
}

export class EncoderInputWriter {
  private readonly blockHeaders = Array.from({ length: HEADER_RING }, () => Buffer.alloc(BLOCK_HEADER_BYTES));
  private nextHeader = 0;
  private clusterStartMs = -1;
  private lastMs = -2;
  private readonly frameBytes: number;

  constructor(
    private readonly width: number,
    private readonly height: number,
  ) {
    this.frameBytes = width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  }

  /** EBML header, Segment of unknown size, Info and the one raw video track. */
  header(): Buffer {
    const info = element(MatroskaId.Info, unsigned(MatroskaId.TimestampScale, NANOSECONDS_PER_TIMESTAMP));
    const video = element(MatroskaId.Video, unsigned(MatroskaId.PixelWidth, this.width, 2), unsigned(MatroskaId.PixelHeight, this.height, 2), text(MatroskaId.ColourSpace, 'I420'));
    // Only the elements the encoder needs, in the layout its ffmpeg was proven with (no lacing or language entries).
    const track = element(
      MatroskaId.TrackEntry,
      unsigned(MatroskaId.TrackNumber, TRACK),
      unsigned(MatroskaId.TrackUid, TRACK),
      unsigned(MatroskaId.TrackType, MatroskaTrackType.Video),
      text(MatroskaId.CodecId, 'V_UNCOMPRESSED'),
      video,
    );
    const tracks = element(MatroskaId.Tracks, track);
    return Buffer.concat([streamStart('matroska'), info, tracks]);
  }

  /**
   * Writes what goes before one frame of exactly width×height I420 (a cluster start when due, then
   * the block header); the caller writes the frame itself after, untouched.
   */
  writeFrameHeader(timestampMs: number, keyframe: boolean, write: (bytes: Buffer) => void): void {
    let ms = Math.max(0, Math.round(timestampMs));
    ms -= ms % 2;
    // The first picture is an IDR anyway; keeping it even keeps the parity meaning from the start.
    if (keyframe && this.lastMs >= 0) ms += 1;
    // Strictly increasing, and keeping the even/odd meaning.
    while (ms <= this.lastMs) ms += 2;
    this.lastMs = ms;
    if (this.clusterStartMs < 0 || ms - this.clusterStartMs >= CLUSTER_SPAN_MS) {
      this.clusterStartMs = ms;
      const cluster = Buffer.allocUnsafe(MAX_CLUSTER_HEADER_BYTES);
      write(cluster.subarray(0, writeClusterStart(cluster, 0, ms, CLUSTER_TIMESTAMP_BYTES)));
    }
    // write() keeps a reference until the pipe takes the bytes, so headers come from a ring, far
    // longer than the frames that can be in flight (the worker's pool holds 4).
    const block = this.blockHeaders[this.nextHeader]!;
    this.nextHeader = (this.nextHeader + 1) % HEADER_RING;
    // Every raw picture is a keyframe.
    writeSimpleBlockHeader(block, 0, this.frameBytes, BLOCK_SIZE_BYTES, TRACK, ms - this.clusterStartMs, KEYFRAME_FLAG);
    write(block);
  }
}
