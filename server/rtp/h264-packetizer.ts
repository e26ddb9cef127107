import { NalType, nalType } from './h264-nal.js';

/** Packetizes H.264 access units for RTP (RFC 6184, packetization-mode 1): single NAL, STAP-A, FU-A. */
export class H264Packetizer {
  constructor(private readonly maxPayloadBytes = 1200) {
    if (maxPayloadBytes < 100) throw new RangeError('RTP payloads under 100 bytes are not useful');
  }

  /** `nals`: the NAL units of one access unit, without start codes. Marker goes on the last payload. */
  packetize(nals: readonly Buffer[], emit: (payload: Buffer, marker: boolean) => void): void {
    const units = nals.filter((nal) => nal.length > 0 && nalType(nal) !== NalType.AccessUnitDelimiter);
    let index = 0;
    while (index < units.length) {
      const nal = units[index]!;
      if (nal.length > this.maxPayloadBytes) {
        this.fragment(nal, index === units.length - 1, emit);
        index++;
        continue;
      }
      // Aggregate following small NALs (SPS, PPS, SEI before a slice) into one STAP-A when they fit.
      let size = 1 + 2 + nal.length;
      let end = index + 1;
      while (end < units.length && size + 2 + units[end]!.length <= this.maxPayloadBytes) {
        size += 2 + units[end]!.length;
        end++;
      }
      if (end - index === 1) {
        emit(nal, index === units.length - 1);
      } else {
        const payload = Buffer.allocUnsafe(size);
        let nri = 0;
        for (let part = index; part < end; part++) nri = Math.max(nri, units[part]![0]! & 0x60);
        payload[0] = nri | NalType.StapA;
        let offset = 1;
        for (let part = index; part < end; part++) {
          const unit = units[part]!;
          payload.writeUInt16BE(unit.length, offset);
          unit.copy(payload, offset + 2);
          offset += 2 + unit.length;
        }
        emit(payload, end === units.length);
      }
      index = end;
    }
  }

  private fragment(nal: Buffer, lastOfAccessUnit: boolean, emit: (payload: Buffer, marker: boolean) => void): void {
    const header = nal[0]!;
    const chunk = this.maxPayloadBytes - 2;
    for (let offset = 1; offset < nal.length; offset += chunk) {
      const end = Math.min(nal.length, offset + chunk);
      const payload = Buffer.allocUnsafe(2 + end - offset);
      payload[0] = (header & 0xe0) | NalType.FuA;
      payload[1] = (offset === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | (header & 0x1f);
      nal.copy(payload, 2, offset, end);
      emit(payload, lastOfAccessUnit && end === nal.length);
    }
  }
}
