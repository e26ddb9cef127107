/**
 * Frames raw I420 pictures into live Matroska (V_UNCOMPRESSED) for the encoder's stdin, so every
 * frame carries a timestamp we choose. A keyframe request travels in that timestamp: normal frames
 * get even milliseconds, a requested keyframe an odd one, and the encoder's
 * `-force_key_frames` expression (encoderKeyframeExpression) turns odd into an IDR. ffmpeg must
 * keep the timestamps as written (`-copyts`), or its start-time shift could flip the parity.
 * ffmpeg's command line has no other way to take a keyframe request at run time.
 */
const UNKNOWN_SIZE = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const HEADER_RING = 64;
/** Cluster timestamps are 64-bit; block timestamps are int16 ms relative to their cluster. */
const CLUSTER_SPAN_MS = 30_000;

import { FfmpegCommand } from '../process/ffmpeg-command.js';

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

function element(id: number[], payload: number[]): number[] {
  if (payload.length > 126) throw new Error('header element too large for a one-byte size');
  return [...id, 0x80 | payload.length, ...payload];
}

function uintBytes(value: number, length: number): number[] {
  const bytes: number[] = [];
  for (let index = length - 1; index >= 0; index--) bytes.push(Math.floor(value / 256 ** index) & 0xff);
  return bytes;
}

export class EncoderInputWriter {
  private readonly blockHeaders = Array.from({ length: HEADER_RING }, () => Buffer.alloc(13));
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
    const ebml = element(
      [0x1a, 0x45, 0xdf, 0xa3],
      [
        ...element([0x42, 0x86], [1]),
        ...element([0x42, 0xf7], [1]),
        ...element([0x42, 0xf2], [4]),
        ...element([0x42, 0xf3], [8]),
        ...element([0x42, 0x82], [...Buffer.from('matroska')]),
        ...element([0x42, 0x87], [4]),
        ...element([0x42, 0x85], [2]),
      ],
    );
    const info = element([0x15, 0x49, 0xa9, 0x66], element([0x2a, 0xd7, 0xb1], uintBytes(1_000_000, 3)));
    const video = element([0xe0], [...element([0xb0], uintBytes(this.width, 2)), ...element([0xba], uintBytes(this.height, 2)), ...element([0x2e, 0xb5, 0x24], [...Buffer.from('I420')])]);
    const track = element([0xae], [...element([0xd7], [1]), ...element([0x73, 0xc5], [1]), ...element([0x83], [1]), ...element([0x86], [...Buffer.from('V_UNCOMPRESSED')]), ...video]);
    const tracks = element([0x16, 0x54, 0xae, 0x6b], track);
    return Buffer.from([...ebml, 0x18, 0x53, 0x80, 0x67, ...UNKNOWN_SIZE, ...info, ...tracks]);
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
      write(Buffer.from([0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN_SIZE, 0xe7, 0x88, ...uintBytes(ms, 8)]));
    }
    // write() keeps a reference until the pipe takes the bytes, so headers come from a ring, far
    // longer than the frames that can be in flight (the worker's pool holds 4).
    const block = this.blockHeaders[this.nextHeader]!;
    this.nextHeader = (this.nextHeader + 1) % HEADER_RING;
    // SimpleBlock: ID, 8-byte size, track 1, int16 relative timestamp, flags (every raw picture is a keyframe).
    block[0] = 0xa3;
    block[1] = 0x01;
    block[2] = 0x00;
    block.writeUIntBE(this.frameBytes + 4, 3, 6);
    block[9] = 0x81;
    block.writeInt16BE(ms - this.clusterStartMs, 10);
    block[12] = 0x80;
    write(block);
  }
}
