import { splitAvcc } from '../rtp/h264-nal.js';
import { parseAvcDecoderConfig } from './avc-decoder-config.js';

/**
 * One H.264 video tag. Its buffers are views into the chunk that was pushed, or into a buffer the reader
 * allocated for a tag split across chunks; the reader never writes to them again, so they stay valid.
 */
export interface FlvVideoTag {
  /** Decoding timestamp in milliseconds (the 24-bit field plus its extension byte). */
  timestampMs: number;
  /** Presentation minus decoding time in milliseconds (0 without B-frames). */
  compositionTimeMs: number;
  keyframe: boolean;
  /** AVCDecoderConfigurationRecord (avcC) when this is the AVC sequence header, else undefined. */
  avcDecoderConfig?: Buffer;
  /** The NAL units of this access unit (length-prefixed AVCC payload split; no start codes), empty for a sequence header. */
  nalUnits: Buffer[];
  /** The raw AVCC payload (length-prefixed NAL units, 4-byte lengths from ffmpeg) for writers that want it whole. */
  avccPayload?: Buffer;
}

export interface FlvReaderHandlers {
  onVideo(tag: FlvVideoTag): void;
  /** Called once on malformed data; the reader then ignores everything. Without it, push throws instead. */
  onError?(error: Error): void;
}

/** Signature "FLV", version, flags, then the 32-bit offset of the first PreviousTagSize. */
const FILE_HEADER_BYTES = 9;
const PREVIOUS_TAG_SIZE_BYTES = 4;
/** Type, 24-bit data size, 24-bit timestamp, timestamp extension byte, 24-bit stream id. */
const TAG_HEADER_BYTES = 11;
const TagType = { Audio: 8, Video: 9, Script: 18 } as const;
const AVC_CODEC_ID = 7;
/** Frame type 5 carries a one-byte info/command instead of video data. */
const VIDEO_INFO_FRAME_TYPE = 5;
const KEYFRAME_FRAME_TYPE = 1;
/** Frame type, codec id, AVCPacketType and the 24-bit composition time come before the AVC payload. */
const AVC_VIDEO_HEADER_BYTES = 5;
const AvcPacketType = { SequenceHeader: 0, Nalu: 1, EndOfSequence: 2 } as const;

type Stage = 'file-header' | 'skip' | 'previous-tag-size' | 'tag-header' | 'video-body';

/**
 * Incremental FLV demuxer for ffmpeg's H.264 output: FLV frames every encoded access unit with its exact
 * length, so a tag is handed on the moment its last byte arrives, whatever the chunk boundaries.
 */
export class FlvReader {
  private stage: Stage = 'file-header';
  /** Headers (file, tag, PreviousTagSize) gather here; reused for every tag. */
  private readonly scratch = Buffer.alloc(TAG_HEADER_BYTES);
  private scratchLength = 0;
  private skipRemaining = 0;
  private stageAfterSkip: Stage = 'previous-tag-size';
  private expectedPreviousTagSize = 0;
  private bodyLength = 0;
  private bodyTimestampMs = 0;
  /** Only allocated when a video tag's body is split across chunks. */
  private partialBody: Buffer | undefined;
  private partialBodyLength = 0;
  private lengthSize = 4;
  private failed = false;

  constructor(private readonly handlers: FlvReaderHandlers) {}

  /** Takes any slice of the stream; tags in `chunk` are handed on as views, so do not modify it afterwards. */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.failed) {
      switch (this.stage) {
        case 'file-header':
          offset = this.gather(chunk, offset, FILE_HEADER_BYTES);
          if (this.scratchLength === FILE_HEADER_BYTES) this.onFileHeader();
          break;
        case 'skip': {
          const skipped = Math.min(this.skipRemaining, chunk.length - offset);
          offset += skipped;
          this.skipRemaining -= skipped;
          if (this.skipRemaining === 0) this.stage = this.stageAfterSkip;
          break;
        }
        case 'previous-tag-size':
          offset = this.gather(chunk, offset, PREVIOUS_TAG_SIZE_BYTES);
          if (this.scratchLength === PREVIOUS_TAG_SIZE_BYTES) this.onPreviousTagSize();
          break;
        case 'tag-header':
          offset = this.gather(chunk, offset, TAG_HEADER_BYTES);
          if (this.scratchLength === TAG_HEADER_BYTES) this.onTagHeader();
          break;
        case 'video-body':
          offset = this.readVideoBody(chunk, offset);
          break;
      }
    }
  }

  /** Copies up to `needed` header bytes into the scratch buffer; returns the new chunk offset. */
  private gather(chunk: Buffer, offset: number, needed: number): number {
    const count = Math.min(needed - this.scratchLength, chunk.length - offset);
    chunk.copy(this.scratch, this.scratchLength, offset, offset + count);
    this.scratchLength += count;
    return offset + count;
  }

  private onFileHeader(): void {
    this.scratchLength = 0;
    if (this.scratch.toString('latin1', 0, 3) !== 'FLV') return this.fail('not an FLV stream (it does not start with "FLV")');
    if (this.scratch[3] !== 1) return this.fail(`FLV version ${this.scratch[3]} is not supported (only 1)`);
    const dataOffset = this.scratch.readUInt32BE(5);
    if (dataOffset < FILE_HEADER_BYTES) return this.fail(`FLV header declares a data offset of ${dataOffset}, below its own 9 bytes`);
    this.expectedPreviousTagSize = 0;
    this.skipThen(dataOffset - FILE_HEADER_BYTES, 'previous-tag-size');
  }

  private onPreviousTagSize(): void {
    this.scratchLength = 0;
    const size = this.scratch.readUInt32BE(0);
    if (size !== this.expectedPreviousTagSize) {
      return this.fail(`FLV PreviousTagSize is ${size} where the tag before it was ${this.expectedPreviousTagSize} bytes: the stream is corrupt`);
    }
    this.stage = 'tag-header';
  }

  private onTagHeader(): void {
    this.scratchLength = 0;
    const first = this.scratch[0]!;
    const type = first & 0x1f;
    const dataSize = this.scratch.readUIntBE(1, 3);
    // The extension byte holds bits 24–31, making the timestamp an unsigned 32-bit millisecond count.
    const timestampMs = (this.scratch.readUIntBE(4, 3) | (this.scratch[7]! << 24)) >>> 0;
    if (first & 0x20) return this.fail('FLV tag is encrypted (its filter bit is set), which is not supported');
    this.expectedPreviousTagSize = TAG_HEADER_BYTES + dataSize;
    if (type === TagType.Video) {
      this.bodyLength = dataSize;
      this.bodyTimestampMs = timestampMs;
      this.stage = 'video-body';
      if (dataSize === 0) this.onVideoBody(Buffer.alloc(0));
    } else if (type === TagType.Audio || type === TagType.Script) {
      this.skipThen(dataSize, 'previous-tag-size');
    } else {
      this.fail(`FLV tag type ${type} is unknown (expected audio 8, video 9 or script 18)`);
    }
  }

  private skipThen(count: number, next: Stage): void {
    this.skipRemaining = count;
    this.stageAfterSkip = next;
    this.stage = count === 0 ? next : 'skip';
  }

  private readVideoBody(chunk: Buffer, offset: number): number {
    const available = chunk.length - offset;
    if (!this.partialBody && available >= this.bodyLength) {
      // The usual case with ffmpeg's flushed packets: the whole tag is in this chunk, so no copy.
      const end = offset + this.bodyLength;
      this.onVideoBody(chunk.subarray(offset, end));
      return end;
    }
    // A fresh buffer per split tag, since the tag handed on must outlive this chunk.
    this.partialBody ??= Buffer.allocUnsafe(this.bodyLength);
    const count = Math.min(this.bodyLength - this.partialBodyLength, available);
    chunk.copy(this.partialBody, this.partialBodyLength, offset, offset + count);
    this.partialBodyLength += count;
    if (this.partialBodyLength === this.bodyLength) {
      const body = this.partialBody;
      this.partialBody = undefined;
      this.partialBodyLength = 0;
      this.onVideoBody(body);
    }
    return offset + count;
  }

  private onVideoBody(body: Buffer): void {
    this.stage = 'previous-tag-size';
    if (body.length === 0) return this.fail('FLV video tag is empty');
    const first = body[0]!;
    // Enhanced RTMP sets the top bit to say a FourCC follows; ffmpeg 5 never writes it for H.264.
    if (first & 0x80) return this.fail('FLV video tag uses the enhanced (FourCC) header, which is not supported');
    const frameType = first >> 4;
    const codecId = first & 0x0f;
    if (frameType === VIDEO_INFO_FRAME_TYPE) return;
    if (codecId !== AVC_CODEC_ID) return this.fail(`FLV video codec id ${codecId} is not H.264 (7)`);
    if (body.length < AVC_VIDEO_HEADER_BYTES) return this.fail(`FLV AVC video tag is ${body.length} bytes, shorter than its 5-byte header`);
    const packetType = body[1]!;
    const compositionTimeMs = body.readIntBE(2, 3);
    const payload = body.subarray(AVC_VIDEO_HEADER_BYTES);
    const keyframe = frameType === KEYFRAME_FRAME_TYPE;
    const timestampMs = this.bodyTimestampMs;
    if (packetType === AvcPacketType.SequenceHeader) {
      try {
        this.lengthSize = parseAvcDecoderConfig(payload).lengthSize;
      } catch (error) {
        return this.fail(`FLV AVC sequence header is malformed: ${messageOf(error)}`);
      }
      this.emit({ timestampMs, compositionTimeMs, keyframe, avcDecoderConfig: payload, nalUnits: [] });
    } else if (packetType === AvcPacketType.Nalu) {
      let nalUnits: Buffer[];
      try {
        nalUnits = splitAvcc(payload, this.lengthSize);
      } catch (error) {
        return this.fail(`FLV AVC access unit at ${timestampMs} ms is malformed: ${messageOf(error)}`);
      }
      this.emit({ timestampMs, compositionTimeMs, keyframe, nalUnits, avccPayload: payload });
    } else if (packetType !== AvcPacketType.EndOfSequence) {
      this.fail(`FLV AVCPacketType ${packetType} is unknown`);
    }
  }

  private emit(tag: FlvVideoTag): void {
    try {
      this.handlers.onVideo(tag);
    } catch (error) {
      // The rest of the chunk is lost with the exception, so reading on would misparse it.
      this.failed = true;
      throw error;
    }
  }

  private fail(message: string): void {
    this.failed = true;
    const error = new Error(message);
    if (!this.handlers.onError) throw error;
    this.handlers.onError(error);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
