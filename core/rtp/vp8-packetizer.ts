export interface Vp8PacketizerOptions {
  /**
   * Write the extended descriptor Chromium sends: a 15-bit PictureID, TL0PICIDX and TID/Y (all frames
   * on temporal layer 0). Off: the one-byte descriptor (S bit and partition index only).
   */
  pictureIds?: boolean;
  /** PictureID of the first frame (15 bits); later frames count up from it. */
  firstPictureId?: number;
}

const MINIMAL_DESCRIPTOR_BYTES = 1;
/** Required byte, extension byte, two PictureID bytes, TL0PICIDX, TID/Y/KEYIDX. */
const EXTENDED_DESCRIPTOR_BYTES = 6;

/** Packetizes VP8 frames into RTP payloads (RFC 7741); the whole frame is sent as partition 0. */
export class Vp8Packetizer {
  private readonly descriptorBytes: number;
  private pictureId: number;
  private tl0PictureIndex = 0;

  constructor(
    private readonly maxPayloadBytes = 1200,
    options: Vp8PacketizerOptions = {},
  ) {
    this.descriptorBytes = options.pictureIds ? EXTENDED_DESCRIPTOR_BYTES : MINIMAL_DESCRIPTOR_BYTES;
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes <= this.descriptorBytes + 16) {
      throw new RangeError(`VP8 RTP payloads of ${maxPayloadBytes} bytes leave no room for data`);
    }
    this.pictureId = (options.firstPictureId ?? 0) & 0x7fff;
  }

  /** `frame`: one VP8 frame as the encoder wrote it (an IVF frame's data). Marker goes on the last payload. */
  packetize(frame: Buffer, emit: (payload: Buffer, marker: boolean) => void): void {
    if (frame.length === 0) throw new Error('cannot packetize an empty VP8 frame');
    const capacity = this.maxPayloadBytes - this.descriptorBytes;
    // Even packets, so the last one is not a tiny leftover.
    const packetCount = Math.ceil(frame.length / capacity);
    const packetBytes = Math.ceil(frame.length / packetCount);
    for (let start = 0; start < frame.length; start += packetBytes) {
      const end = Math.min(frame.length, start + packetBytes);
      const payload = Buffer.allocUnsafe(this.descriptorBytes + end - start);
      this.writeDescriptor(payload, start === 0);
      frame.copy(payload, this.descriptorBytes, start, end);
      emit(payload, end === frame.length);
    }
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    this.tl0PictureIndex = (this.tl0PictureIndex + 1) & 0xff;
  }

  private writeDescriptor(payload: Buffer, startOfFrame: boolean): void {
    const startBit = startOfFrame ? 0x10 : 0;
    if (this.descriptorBytes === MINIMAL_DESCRIPTOR_BYTES) {
      payload[0] = startBit; // X=0, N=0, S, PartID=0
      return;
    }
    payload[0] = 0x80 | startBit; // X=1
    payload[1] = 0x80 | 0x40 | 0x20; // I, L and T present; K absent
    payload[2] = 0x80 | (this.pictureId >>> 8); // M=1: 15-bit PictureID
    payload[3] = this.pictureId & 0xff;
    payload[4] = this.tl0PictureIndex;
    payload[5] = 0x20; // TID=0, Y=1 (layer sync), KEYIDX unused
  }
}
