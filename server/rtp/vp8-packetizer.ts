/** Packetizes VP8 frames for RTP (RFC 7741) with the minimal payload descriptor: S bit, partition 0. */
export class Vp8Packetizer {
  constructor(private readonly maxPayloadBytes = 1200) {}

  packetize(frame: Buffer, emit: (payload: Buffer, marker: boolean) => void): void {
    const chunk = this.maxPayloadBytes - 1;
    for (let offset = 0; offset < frame.length; offset += chunk) {
      const end = Math.min(frame.length, offset + chunk);
      const payload = Buffer.allocUnsafe(1 + end - offset);
      payload[0] = offset === 0 ? 0x10 : 0x00;
      frame.copy(payload, 1, offset, end);
      emit(payload, end === frame.length);
    }
  }
}
