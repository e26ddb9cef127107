export type MatroskaVideoTrack =
  | { codec: 'H264'; width: number; height: number; avcDecoderConfig: Buffer }
  | { codec: 'VP8'; width: number; height: number };
export type MatroskaAudioTrack = { codec: 'opus'; sampleRate: 48000; channels: 1 | 2 };

export interface MatroskaLiveWriterOptions {
  video?: MatroskaVideoTrack;
  audio?: MatroskaAudioTrack;
  title?: string;
}

/** Matroska element ids (RFC 9559), with their length marker bits, as written. */
const ElementId = {
  Ebml: 0x1a45dfa3,
  EbmlVersion: 0x4286,
  EbmlReadVersion: 0x42f7,
  EbmlMaxIdLength: 0x42f2,
  EbmlMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Title: 0x7ba9,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUid: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  Language: 0x22b59c,
  CodecId: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
} as const;

const TrackType = { Video: 1, Audio: 2 } as const;
/** An 8-byte size with every value bit set means "unknown": the element runs until its parent's next sibling. */
const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** Timestamps are counted in milliseconds (TimestampScale is in nanoseconds). */
const NANOSECONDS_PER_TIMESTAMP = 1_000_000;
const MAX_CLUSTER_MS = 5_000;
const MIN_RELATIVE_MS = -32_768;
const MAX_RELATIVE_MS = 32_767;
const KEYFRAME_FLAG = 0x80;
/** Opus encoders' usual look-ahead at 48 kHz (libopus and browsers); decoders drop these samples first. */
const OPUS_PRE_SKIP_SAMPLES = 312;
/** Opus needs 80 ms of decoded audio before a seek point to converge (RFC 7845 section 4.6). */
const OPUS_SEEK_PRE_ROLL_NS = 80_000_000;
/** Cluster id (4), unknown size (8), Timestamp id (1), size (1), up to 8 value bytes. */
const MAX_CLUSTER_HEADER_BYTES = 4 + 8 + 1 + 1 + 8;
/** SimpleBlock id (1), size (up to 8), track number (1), relative timestamp (2), flags (1). */
const MAX_BLOCK_HEADER_BYTES = 1 + 8 + 1 + 2 + 1;

/**
 * Writes a live Matroska stream: the Segment and every Cluster have unknown size, so it can go down a pipe
 * as frames arrive. Each sink call carries whole elements, so a reader cut off anywhere between two sink
 * calls sees a valid file. The sink owns each buffer it is given.
 */
export class MatroskaLiveWriter {
  private readonly videoTrack: number | undefined;
  private readonly audioTrack: number | undefined;
  private started = false;
  private closed = false;
  private clusterOpen = false;
  private clusterTimestampMs = 0;
  private clusterHasVideo = false;
  private lastVideoMs = 0;
  private lastAudioMs = 0;

  constructor(
    private readonly options: MatroskaLiveWriterOptions,
    private readonly sink: (bytes: Buffer) => void,
  ) {
    if (!options.video && !options.audio) throw new Error('a Matroska stream needs a video track, an audio track or both');
    let next = 1;
    if (options.video) this.videoTrack = next++;
    if (options.audio) this.audioTrack = next++;
  }

  /** `frame` is AVCC (4-byte length-prefixed NAL units) for H.264, the raw frame for VP8. */
  writeVideo(frame: Buffer, timestampMs: number, keyframe: boolean): void {
    if (this.videoTrack === undefined) throw new Error('this Matroska stream was created without a video track');
    if (this.closed) return;
    const timestamp = monotonic(timestampMs, this.lastVideoMs);
    this.lastVideoMs = timestamp;
    // Clusters start at keyframes so that a reader (or HLS segmenter) can begin at any cluster.
    const startCluster = keyframe && this.clusterHasVideo;
    this.writeBlock(this.videoTrack, frame, timestamp, keyframe, startCluster);
    this.clusterHasVideo = true;
  }

  writeAudio(packet: Buffer, timestampMs: number): void {
    if (this.audioTrack === undefined) throw new Error('this Matroska stream was created without an audio track');
    if (this.closed) return;
    const timestamp = monotonic(timestampMs, this.lastAudioMs);
    this.lastAudioMs = timestamp;
    this.writeBlock(this.audioTrack, packet, timestamp, true, false);
  }

  /** Stops writing; later writes are ignored. A live stream needs no trailer, so nothing is written. */
  close(): void {
    this.closed = true;
  }

  private writeBlock(track: number, data: Buffer, timestampMs: number, keyframe: boolean, keyframeStartsCluster: boolean): void {
    if (!this.started) {
      this.started = true;
      this.sink(this.header());
    }
    let relative = timestampMs - this.clusterTimestampMs;
    const startCluster = !this.clusterOpen || keyframeStartsCluster || relative > MAX_RELATIVE_MS || relative >= MAX_CLUSTER_MS;
    if (startCluster) {
      // Cluster timestamps never go back, so a block behind the other track's gets a negative relative time.
      this.clusterTimestampMs = Math.max(timestampMs, this.clusterTimestampMs);
      this.clusterOpen = true;
      this.clusterHasVideo = false;
      relative = timestampMs - this.clusterTimestampMs;
    }
    // A track more than 32 s behind the other cannot be placed in this cluster: it is pulled forward.
    relative = Math.max(relative, MIN_RELATIVE_MS);

    const blockSize = 1 + 2 + 1 + data.length;
    const blockSizeLength = sizeLength(blockSize);
    const bytes = Buffer.allocUnsafe((startCluster ? MAX_CLUSTER_HEADER_BYTES : 0) + 1 + blockSizeLength + blockSize);
    let offset = 0;
    if (startCluster) {
      offset = bytes.writeUInt32BE(ElementId.Cluster, offset);
      offset += UNKNOWN_SIZE.copy(bytes, offset);
      bytes[offset++] = ElementId.Timestamp;
      const timestampLength = unsignedLength(this.clusterTimestampMs);
      offset = writeSize(bytes, offset, timestampLength, 1);
      offset = bytes.writeUIntBE(this.clusterTimestampMs, offset, timestampLength);
    }
    bytes[offset++] = ElementId.SimpleBlock;
    offset = writeSize(bytes, offset, blockSize, blockSizeLength);
    // Track numbers below 127 take one byte as an EBML variable-size integer.
    bytes[offset++] = 0x80 | track;
    offset = bytes.writeInt16BE(relative, offset);
    bytes[offset++] = keyframe ? KEYFRAME_FLAG : 0;
    offset += data.copy(bytes, offset);
    this.sink(offset === bytes.length ? bytes : bytes.subarray(0, offset));
  }

  /** EBML header, the start of the Segment, Info and Tracks: written once, in one sink call. */
  private header(): Buffer {
    const { video, audio, title } = this.options;
    // WebM is the Matroska subset for VP8/VP9/AV1 with Opus/Vorbis; H.264 needs full Matroska.
    const docType = video?.codec === 'H264' ? 'matroska' : 'webm';
    const ebml = element(
      ElementId.Ebml,
      unsigned(ElementId.EbmlVersion, 1),
      unsigned(ElementId.EbmlReadVersion, 1),
      unsigned(ElementId.EbmlMaxIdLength, 4),
      unsigned(ElementId.EbmlMaxSizeLength, 8),
      text(ElementId.DocType, docType),
      // Version 4 brings CodecDelay and SeekPreRoll; reading needs only version 2 (SimpleBlock).
      unsigned(ElementId.DocTypeVersion, 4),
      unsigned(ElementId.DocTypeReadVersion, 2),
    );
    const info = element(
      ElementId.Info,
      unsigned(ElementId.TimestampScale, NANOSECONDS_PER_TIMESTAMP),
      ...(title ? [text(ElementId.Title, title)] : []),
      text(ElementId.MuxingApp, 'livefx'),
      text(ElementId.WritingApp, 'livefx'),
    );
    const entries: Buffer[] = [];
    if (video && this.videoTrack !== undefined) {
      entries.push(
        element(
          ElementId.TrackEntry,
          unsigned(ElementId.TrackNumber, this.videoTrack),
          unsigned(ElementId.TrackUid, this.videoTrack),
          unsigned(ElementId.TrackType, TrackType.Video),
          unsigned(ElementId.FlagLacing, 0),
          // Matroska's default language is English; a live stream's is not known.
          text(ElementId.Language, 'und'),
          text(ElementId.CodecId, video.codec === 'H264' ? 'V_MPEG4/ISO/AVC' : 'V_VP8'),
          ...(video.codec === 'H264' ? [element(ElementId.CodecPrivate, video.avcDecoderConfig)] : []),
          element(ElementId.Video, unsigned(ElementId.PixelWidth, video.width), unsigned(ElementId.PixelHeight, video.height)),
        ),
      );
    }
    if (audio && this.audioTrack !== undefined) {
      entries.push(
        element(
          ElementId.TrackEntry,
          unsigned(ElementId.TrackNumber, this.audioTrack),
          unsigned(ElementId.TrackUid, this.audioTrack),
          unsigned(ElementId.TrackType, TrackType.Audio),
          unsigned(ElementId.FlagLacing, 0),
          text(ElementId.Language, 'und'),
          text(ElementId.CodecId, 'A_OPUS'),
          element(ElementId.CodecPrivate, opusHead(audio.channels, audio.sampleRate)),
          unsigned(ElementId.CodecDelay, Math.round((OPUS_PRE_SKIP_SAMPLES * 1e9) / 48_000)),
          unsigned(ElementId.SeekPreRoll, OPUS_SEEK_PRE_ROLL_NS),
          element(ElementId.Audio, float(ElementId.SamplingFrequency, audio.sampleRate), unsigned(ElementId.Channels, audio.channels)),
        ),
      );
    }
    const segmentStart = Buffer.concat([idBytes(ElementId.Segment), UNKNOWN_SIZE]);
    return Buffer.concat([ebml, segmentStart, info, element(ElementId.Tracks, ...entries)]);
  }
}

/** Rounds to whole milliseconds and never goes below zero or below the track's previous timestamp. */
function monotonic(timestampMs: number, previousMs: number): number {
  const rounded = Math.round(timestampMs);
  return Number.isFinite(rounded) && rounded > previousMs ? rounded : previousMs;
}

/** Bytes of the shortest EBML size for `size`; all-ones values are reserved for "unknown". */
function sizeLength(size: number): number {
  let length = 1;
  while (size >= 2 ** (7 * length) - 1) length++;
  if (length > 8) throw new RangeError(`a Matroska element of ${size} bytes is too large`);
  return length;
}

/** Writes `size` as an EBML variable-size integer of `length` bytes; returns the offset after it. */
function writeSize(target: Buffer, offset: number, size: number, length: number): number {
  let rest = size;
  for (let index = length - 1; index >= 0; index--) {
    target[offset + index] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  target[offset] = target[offset]! | (0x80 >> (length - 1));
  return offset + length;
}

/** Bytes needed for an unsigned integer (at least one; at most six, which Buffer.writeUIntBE takes). */
function unsignedLength(value: number): number {
  let length = 1;
  while (length < 6 && value >= 2 ** (8 * length)) length++;
  return length;
}

function idBytes(id: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(id);
  let start = 0;
  while (bytes[start] === 0) start++;
  return bytes.subarray(start);
}

function element(id: number, ...children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  const size = Buffer.alloc(sizeLength(body.length));
  writeSize(size, 0, body.length, size.length);
  return Buffer.concat([idBytes(id), size, body]);
}

function unsigned(id: number, value: number): Buffer {
  const bytes = Buffer.alloc(unsignedLength(value));
  bytes.writeUIntBE(value, 0, bytes.length);
  return element(id, bytes);
}

function float(id: number, value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return element(id, bytes);
}

function text(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

/** The Opus identification header (RFC 7845 section 5.1) that Matroska carries as A_OPUS CodecPrivate. */
function opusHead(channels: number, sampleRate: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = channels;
  head.writeUInt16LE(OPUS_PRE_SKIP_SAMPLES, 10);
  head.writeUInt32LE(sampleRate, 12);
  // Output gain 0 dB; channel mapping family 0 (mono or stereo, no mapping table).
  head.writeInt16LE(0, 16);
  head[18] = 0;
  return head;
}
