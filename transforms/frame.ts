/** One raw video frame in I420 (planar Y, then U and V at half resolution), transformed in place. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
  /** Presentation time in 90 kHz units, carried from the publisher's RTP timestamp. */
  pts: number;
  /** When the server received the frame's first packet (ms, server clock, performance.timeOrigin-based). */
  captureMs: number;
}

/** Timing context handed to every transform for one frame. */
export interface FrameClock {
  /** Frames processed so far in this pipeline (0 for the first). */
  readonly frameIndex: number;
  /** Budget for the whole chain per frame, in ms (the frame interval). */
  readonly frameIntervalMs: number;
}

export function i420ByteLength(width: number, height: number): number {
  return width * height + 2 * (Math.ceil(width / 2) * Math.ceil(height / 2));
}

/**
 * A frame whose planes are views over one contiguous I420 buffer, allocated once per resolution;
 * the buffer is what is read from the decoder and written to the encoder.
 */
export class I420Frame implements Frame {
  readonly buffer: Buffer;
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
  pts = 0;
  captureMs = 0;

  /** `storage`: where the planes live (e.g. the transforms' WebAssembly memory); allocated here when absent. */
  constructor(
    readonly width: number,
    readonly height: number,
    storage?: Buffer,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2) {
      throw new RangeError(`invalid frame size ${width}x${height}`);
    }
    const lumaBytes = width * height;
    const chromaBytes = Math.ceil(width / 2) * Math.ceil(height / 2);
    if (storage && storage.length !== lumaBytes + 2 * chromaBytes) throw new RangeError(`a ${width}x${height} frame needs ${lumaBytes + 2 * chromaBytes} bytes, not ${storage.length}`);
    this.buffer = storage ?? Buffer.alloc(lumaBytes + 2 * chromaBytes);
    this.y = this.buffer.subarray(0, lumaBytes);
    this.u = this.buffer.subarray(lumaBytes, lumaBytes + chromaBytes);
    this.v = this.buffer.subarray(lumaBytes + chromaBytes);
  }
}
