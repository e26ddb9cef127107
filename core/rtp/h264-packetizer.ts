import { NalType, nalType } from './h264-nal.js';

/** Size of a STAP-A header (one byte) and of each aggregated unit's length prefix (two bytes). */
const STAP_A_HEADER_BYTES = 1;
const STAP_A_LENGTH_BYTES = 2;
/** FU indicator plus FU header. */
const FU_A_HEADER_BYTES = 2;

/** Packetizes H.264 access units into RTP payloads (RFC 6184, packetization-mode 1): single NAL units, STAP-A, FU-A. */
export class H264Packetizer {
  constructor(private readonly maxPayloadBytes = 1200) {
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 100) {
      throw new RangeError(`H.264 RTP payloads must be at least 100 bytes, not ${maxPayloadBytes}`);
    }
  }

  /**
   * `nals`: the NAL units of ONE access unit, without start codes. Access unit delimiters are left out
   * (RFC 6184 leaves them to the receiver); the marker bit goes on the last payload. Single NAL unit
   * payloads are views of the input; STAP-A and FU-A payloads are new buffers.
   */
  packetize(nals: readonly Buffer[], emit: (payload: Buffer, marker: boolean) => void): void {
    let last = nals.length - 1;
    while (last >= 0 && !this.isSent(nals[last]!)) last--;
    let index = 0;
    while (index <= last) {
      const nal = nals[index]!;
      if (!this.isSent(nal)) {
        index++;
        continue;
      }
      if (nal.length > this.maxPayloadBytes) {
        this.emitFragments(nal, index === last, emit);
        index++;
        continue;
      }
      // Gather the following small NAL units (SPS, PPS, SEI before a slice) into one STAP-A while they fit.
      let stapBytes = STAP_A_HEADER_BYTES + STAP_A_LENGTH_BYTES + nal.length;
      let unitCount = 1;
      let end = index + 1;
      for (; end <= last; end++) {
        const next = nals[end]!;
        if (!this.isSent(next)) continue;
        if (stapBytes + STAP_A_LENGTH_BYTES + next.length > this.maxPayloadBytes) break;
        stapBytes += STAP_A_LENGTH_BYTES + next.length;
        unitCount++;
      }
      if (unitCount === 1) {
        emit(nal, index === last);
        index++;
      } else {
        emit(this.buildStapA(nals, index, end, stapBytes), end > last);
        index = end;
      }
    }
  }

  private isSent(nal: Buffer): boolean {
    return nal.length > 0 && nalType(nal) !== NalType.AccessUnitDelimiter;
  }

  private buildStapA(nals: readonly Buffer[], start: number, end: number, size: number): Buffer {
    const payload = Buffer.allocUnsafe(size);
    // The STAP-A header carries the highest importance (NRI) and any forbidden bit of the units inside.
    let forbidden = 0;
    let importance = 0;
    let offset = STAP_A_HEADER_BYTES;
    for (let index = start; index < end; index++) {
      const nal = nals[index]!;
      if (!this.isSent(nal)) continue;
      forbidden |= nal[0]! & 0x80;
      importance = Math.max(importance, nal[0]! & 0x60);
      payload.writeUInt16BE(nal.length, offset);
      nal.copy(payload, offset + STAP_A_LENGTH_BYTES);
      offset += STAP_A_LENGTH_BYTES + nal.length;
    }
    payload[0] = forbidden | importance | NalType.StapA;
    return payload;
  }

  private emitFragments(nal: Buffer, lastOfAccessUnit: boolean, emit: (payload: Buffer, marker: boolean) => void): void {
    const header = nal[0]!;
    const bodyBytes = nal.length - 1; // the NAL header travels in the FU indicator and FU header
    const capacity = this.maxPayloadBytes - FU_A_HEADER_BYTES;
    // Even fragments, so the last packet is not a tiny leftover.
    const fragmentCount = Math.ceil(bodyBytes / capacity);
    const fragmentBytes = Math.ceil(bodyBytes / fragmentCount);
    for (let start = 1; start < nal.length; start += fragmentBytes) {
      const end = Math.min(nal.length, start + fragmentBytes);
      const isFirst = start === 1;
      const isLast = end === nal.length;
      const payload = Buffer.allocUnsafe(FU_A_HEADER_BYTES + end - start);
      payload[0] = (header & 0xe0) | NalType.FuA;
      payload[1] = (isFirst ? 0x80 : 0) | (isLast ? 0x40 : 0) | (header & 0x1f);
      nal.copy(payload, FU_A_HEADER_BYTES, start, end);
      emit(payload, lastOfAccessUnit && isLast);
    }
  }
}
