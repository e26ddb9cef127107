export type MatroskaVideoTrack =
  | { codec: 'H264'; width: number; height: number; avcDecoderConfig: Buffer }
  | { codec: 'VP8'; width: number; height: number };
export type MatroskaAudioTrack = { codec: 'opus'; sampleRate: 48000; channels: 1 | 2 };

export interface MatroskaLiveWriterOptions {
  video?: MatroskaVideoTrack;
  audio?: MatroskaAudioTrack;
  title?: string;
}

const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const MAX_CLUSTER_MS = 5000;
/** Opus decoders skip this many samples at 48 kHz at the start (encoder look-ahead). */
const OPUS_PRE_SKIP = 312;

function idBytes(id: number): Buffer {
  const bytes: number[] = [];
  for (let value = id; value > 0; value = Math.floor(value / 256)) bytes.unshift(value & 0xff);
  return Buffer.from(bytes);
}

function sizeBytes(size: number): Buffer {
  for (let length = 1; length <= 8; length++) {
    if (size < 2 ** (7 * length) - 1) {
      const bytes = Buffer.alloc(length);
      let value = size;
      for (let index = length - 1; index >= 0; index--) {
        bytes[index] = value & 0xff;
        value = Math.floor(value / 256);
      }
      bytes[0]! |= 1 << (8 - length);
      return bytes;
    }
  }
  throw new RangeError(`EBML element of ${size} bytes is too large`);
}

function element(id: number, ...children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  return Buffer.concat([idBytes(id), sizeBytes(body.length), body]);
}

function uint(id: number, value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  return element(id, Buffer.from(bytes));
}

function float(id: number, value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return element(id, bytes);
}

function text(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

function opusHead(channels: number, sampleRate: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = channels;
  head.writeUInt16LE(OPUS_PRE_SKIP, 10);
  head.writeUInt32LE(sampleRate, 12);
  head.writeInt16LE(0, 16);
  head[18] = 0;
  return head;
}

/**
 * Writes a live Matroska stream: segment and clusters of unknown size, so it can go down a pipe as
 * frames arrive. Every sink call carries whole elements, so any prefix of the output is readable.
 */
export class MatroskaLiveWriter {
  private started = false;
  private closed = false;
  private clusterStartMs = -1;
  private readonly lastTimestamp = new Map<number, number>();
  private readonly videoTrack: number | undefined;
  private readonly audioTrack: number | undefined;

  constructor(
    private readonly options: MatroskaLiveWriterOptions,
    private readonly sink: (bytes: Buffer) => void,
  ) {
    if (!options.video && !options.audio) throw new Error('a Matroska stream needs a video or an audio track');
    let next = 1;
    if (options.video) this.videoTrack = next++;
    if (options.audio) this.audioTrack = next++;
  }

  writeVideo(frame: Buffer, timestampMs: number, keyframe: boolean): void {
    if (this.videoTrack === undefined) throw new Error('this Matroska stream has no video track');
    this.writeBlock(this.videoTrack, frame, timestampMs, keyframe, true);
  }

  writeAudio(packet: Buffer, timestampMs: number): void {
    if (this.audioTrack === undefined) throw new Error('this Matroska stream has no audio track');
    this.writeBlock(this.audioTrack, packet, timestampMs, true, false);
  }

  close(): void {
    this.closed = true;
  }

  private writeBlock(track: number, data: Buffer, timestampMs: number, keyframe: boolean, isVideo: boolean): void {
    if (this.closed) return;
    if (!this.started) {
      this.sink(this.header());
      this.started = true;
    }
    const previous = this.lastTimestamp.get(track) ?? 0;
    const timestamp = Math.max(previous, Math.max(0, Math.round(timestampMs)));
    this.lastTimestamp.set(track, timestamp);
    const newCluster =
      this.clusterStartMs < 0 ||
      (isVideo && keyframe && timestamp > this.clusterStartMs) ||
      timestamp - this.clusterStartMs > Math.min(MAX_CLUSTER_MS, 32_000) ||
      timestamp < this.clusterStartMs;
    const parts: Buffer[] = [];
    if (newCluster) {
      this.clusterStartMs = timestamp;
      parts.push(idBytes(0x1f43b675), UNKNOWN_SIZE, uint(0xe7, timestamp));
    }
    const blockHeader = Buffer.alloc(4);
    blockHeader[0] = 0x80 | track;
    blockHeader.writeInt16BE(timestamp - this.clusterStartMs, 1);
    blockHeader[3] = keyframe ? 0x80 : 0x00;
    parts.push(idBytes(0xa3), sizeBytes(4 + data.length), blockHeader, data);
    this.sink(Buffer.concat(parts));
  }

  private header(): Buffer {
    const { video, audio, title } = this.options;
    const webm = (!video || video.codec === 'VP8') && (!audio || audio.codec === 'opus');
    const ebml = element(
      0x1a45dfa3,
      uint(0x4286, 1),
      uint(0x42f7, 1),
      uint(0x42f2, 4),
      uint(0x42f3, 8),
      text(0x4282, webm ? 'webm' : 'matroska'),
      uint(0x4287, 4),
      uint(0x4285, 2),
    );
    const info = element(0x1549a966, uint(0x2ad7b1, 1_000_000), text(0x4d80, 'livefx'), text(0x5741, 'livefx'), ...(title ? [text(0x7ba9, title)] : []));
    const entries: Buffer[] = [];
    if (video && this.videoTrack !== undefined) {
      entries.push(
        element(
          0xae,
          uint(0xd7, this.videoTrack),
          uint(0x73c5, this.videoTrack),
          uint(0x83, 1),
          uint(0x9c, 0),
          text(0x86, video.codec === 'H264' ? 'V_MPEG4/ISO/AVC' : 'V_VP8'),
          ...(video.codec === 'H264' ? [element(0x63a2, video.avcDecoderConfig)] : []),
          element(0xe0, uint(0xb0, video.width), uint(0xba, video.height)),
        ),
      );
    }
    if (audio && this.audioTrack !== undefined) {
      entries.push(
        element(
          0xae,
          uint(0xd7, this.audioTrack),
          uint(0x73c5, this.audioTrack),
          uint(0x83, 2),
          uint(0x9c, 0),
          text(0x86, 'A_OPUS'),
          element(0x63a2, opusHead(audio.channels, audio.sampleRate)),
          uint(0x56aa, Math.round((OPUS_PRE_SKIP / 48_000) * 1e9)),
          uint(0x56bb, 80_000_000),
          element(0xe1, float(0xb5, audio.sampleRate), uint(0x9f, audio.channels)),
        ),
      );
    }
    return Buffer.concat([ebml, idBytes(0x18538067), UNKNOWN_SIZE, info, element(0x1654ae6b, ...entries)]);
  }
}
