import { BLOCK_PREFIX_BYTES, KEYFRAME_FLAG, MAX_CLUSTER_HEADER_BYTES, MatroskaId, MatroskaTrackType, NANOSECONDS_PER_TIMESTAMP, element, float, sizeLength, streamStart, text, trackEntry, unsigned, writeClusterStart, writeSimpleBlockHeader } from './ebml-writer.js';

export type MatroskaVideoTrack =
  | { codec: 'H264'; width: number; height: number; avcDecoderConfig: Buffer }
  | { codec: 'VP8'; width: number; height: number };
export type MatroskaAudioTrack = { codec: 'opus'; sampleRate: 48000; channels: 1 | 2 };

export interface MatroskaLiveWriterOptions {
  video?: MatroskaVideoTrack;
  audio?: MatroskaAudioTrack;
  title?: string;
}

const MAX_CLUSTER_MS = 5_000;
const MIN_RELATIVE_MS = -32_768;
const MAX_RELATIVE_MS = 32_767;
/** Opus encoders' usual look-ahead at 48 kHz (libopus and browsers); decoders drop these samples first. */
const OPUS_PRE_SKIP_SAMPLES = 312;
/** Opus needs 80 ms of decoded audio before a seek point to converge (RFC 7845 section 4.6). */
const OPUS_SEEK_PRE_ROLL_NS = 80_000_000;

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

    const blockSizeLength = sizeLength(BLOCK_PREFIX_BYTES + data.length);
    const bytes = Buffer.allocUnsafe((startCluster ? MAX_CLUSTER_HEADER_BYTES : 0) + 1 + blockSizeLength + BLOCK_PREFIX_BYTES + data.length);
    let offset = startCluster ? writeClusterStart(bytes, 0, this.clusterTimestampMs) : 0;
    offset = writeSimpleBlockHeader(bytes, offset, data.length, blockSizeLength, track, relative, keyframe ? KEYFRAME_FLAG : 0);
    offset += data.copy(bytes, offset);
    this.sink(offset === bytes.length ? bytes : bytes.subarray(0, offset));
  }

  /** EBML header, the start of the Segment, Info and Tracks: written once, in one sink call. */
  private header(): Buffer {
    const { video, audio, title } = this.options;
    // WebM is the Matroska subset for VP8/VP9/AV1 with Opus/Vorbis; H.264 needs full Matroska.
    const docType = video?.codec === 'H264' ? 'matroska' : 'webm';
    const info = element(
      MatroskaId.Info,
      unsigned(MatroskaId.TimestampScale, NANOSECONDS_PER_TIMESTAMP),
      ...(title ? [text(MatroskaId.Title, title)] : []),
      text(MatroskaId.MuxingApp, 'livefx'),
      text(MatroskaId.WritingApp, 'livefx'),
    );
    const entries: Buffer[] = [];
    if (video && this.videoTrack !== undefined) {
      entries.push(
        trackEntry(
          this.videoTrack,
          MatroskaTrackType.Video,
          video.codec === 'H264' ? 'V_MPEG4/ISO/AVC' : 'V_VP8',
          ...(video.codec === 'H264' ? [element(MatroskaId.CodecPrivate, video.avcDecoderConfig)] : []),
          element(MatroskaId.Video, unsigned(MatroskaId.PixelWidth, video.width), unsigned(MatroskaId.PixelHeight, video.height)),
        ),
      );
    }
    if (audio && this.audioTrack !== undefined) {
      entries.push(
        trackEntry(
          this.audioTrack,
          MatroskaTrackType.Audio,
          'A_OPUS',
          element(MatroskaId.CodecPrivate, opusHead(audio.channels, audio.sampleRate)),
          unsigned(MatroskaId.CodecDelay, Math.round((OPUS_PRE_SKIP_SAMPLES * 1e9) / 48_000)),
          unsigned(MatroskaId.SeekPreRoll, OPUS_SEEK_PRE_ROLL_NS),
          element(MatroskaId.Audio, float(MatroskaId.SamplingFrequency, audio.sampleRate), unsigned(MatroskaId.Channels, audio.channels)),
        ),
      );
    }
    return Buffer.concat([streamStart(docType), info, element(MatroskaId.Tracks, ...entries)]);
  }
}

/** Rounds to whole milliseconds and never goes below zero or below the track's previous timestamp. */
function monotonic(timestampMs: number, previousMs: number): number {
  const rounded = Math.round(timestampMs);
  return Number.isFinite(rounded) && rounded > previousMs ? rounded : previousMs;
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
