import { splitAvcc } from '../rtp/h264-nal.js';

export interface FlvVideoTag {
  timestampMs: number;
  compositionTimeMs: number;
  keyframe: boolean;
  /** The AVCDecoderConfigurationRecord when this tag is the AVC sequence header. */
  avcDecoderConfig?: Buffer;
  /** NAL units of the access unit (no start codes); empty for a sequence header. */
  nalUnits: Buffer[];
  /** The AVCC payload (4-byte length-prefixed NAL units) as written. */
  avccPayload?: Buffer;
}

export interface FlvReaderHandlers {
  onVideo(tag: FlvVideoTag): void;
  onError?(error: Error): void;
}

const FILE_HEADER_BYTES = 9 + 4;
const TAG_HEADER_BYTES = 11;
const VIDEO_TAG = 9;

/**
 * An incremental FLV demuxer for ffmpeg's H.264 output: FLV gives each encoded frame with its exact
 * length, so a frame is handed on the moment its last byte arrives.
 */
export class FlvReader {
  private buffer = Buffer.alloc(256 * 1024);
  private length = 0;
  private headerDone = false;
  private failed = false;

  constructor(private readonly handlers: FlvReaderHandlers) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    this.append(chunk);
    let offset = 0;
    try {
      if (!this.headerDone) {
        if (this.length < FILE_HEADER_BYTES) return;
        if (this.buffer.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream (no "FLV" signature)');
        offset = this.buffer.readUInt32BE(5) + 4;
        this.headerDone = true;
      }
      while (this.length - offset >= TAG_HEADER_BYTES) {
        const type = this.buffer[offset]! & 0x1f;
        const dataSize = this.buffer.readUIntBE(offset + 1, 3);
        const total = TAG_HEADER_BYTES + dataSize + 4;
        if (this.length - offset < total) break;
        if (type === VIDEO_TAG) {
          const timestamp = this.buffer.readUIntBE(offset + 4, 3) | (this.buffer[offset + 7]! << 24);
          // Copy out: the tag must outlive the next chunk, which reuses this buffer.
          const data = Buffer.from(this.buffer.subarray(offset + TAG_HEADER_BYTES, offset + TAG_HEADER_BYTES + dataSize));
          this.onVideoData(data, timestamp >>> 0);
        }
        offset += total;
      }
    } catch (error) {
      this.failed = true;
      this.handlers.onError?.(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.buffer.copy(this.buffer, 0, offset, this.length);
    this.length -= offset;
  }

  private append(chunk: Buffer): void {
    if (this.length + chunk.length > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + chunk.length));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    chunk.copy(this.buffer, this.length);
    this.length += chunk.length;
  }

  private onVideoData(data: Buffer, timestampMs: number): void {
    if (data.length < 5) throw new Error('FLV video tag too short');
    const frameType = data[0]! >> 4;
    const codecId = data[0]! & 0x0f;
    if (codecId !== 7) throw new Error(`FLV video codec ${codecId} is not H.264`);
    const packetType = data[1]!;
    const compositionTimeMs = (data.readIntBE(2, 3));
    const body = data.subarray(5);
    if (packetType === 0) {
      this.handlers.onVideo({ timestampMs, compositionTimeMs, keyframe: frameType === 1, avcDecoderConfig: body, nalUnits: [] });
    } else if (packetType === 1) {
      this.handlers.onVideo({ timestampMs, compositionTimeMs, keyframe: frameType === 1, nalUnits: splitAvcc(body), avccPayload: body });
    }
  }
}
