import type { VideoCodecName } from '../live-media.js';

const HEADER_RING = 64;

/** Frames compressed video into IVF for the decoder's stdin: explicit frame boundaries, no parser delay. */
export class IvfWriter {
  // write() keeps a reference until the pipe takes the bytes, so frame headers come from a ring, not one buffer.
  private readonly frameHeaders = Array.from({ length: HEADER_RING }, () => Buffer.alloc(12));
  private nextHeader = 0;

  static fileHeader(codec: VideoCodecName, width: number, height: number): Buffer {
    const header = Buffer.alloc(32);
    header.write('DKIF', 0, 'latin1');
    header.writeUInt16LE(0, 4);
    header.writeUInt16LE(32, 6);
    header.write(codec === 'H264' ? 'H264' : 'VP80', 8, 'latin1');
    header.writeUInt16LE(width, 12);
    header.writeUInt16LE(height, 14);
    header.writeUInt32LE(90_000, 16);
    header.writeUInt32LE(1, 20);
    return header;
  }

  frameHeader(byteLength: number, pts90k: number): Buffer {
    const header = this.frameHeaders[this.nextHeader]!;
    this.nextHeader = (this.nextHeader + 1) % HEADER_RING;
    header.writeUInt32LE(byteLength, 0);
    header.writeUInt32LE(pts90k >>> 0, 4);
    header.writeUInt32LE(0, 8);
    return header;
  }
}
