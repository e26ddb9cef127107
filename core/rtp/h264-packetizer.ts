import { NalType, joinAvcc } from './h264-nal.js';

/** Size of a STAP-A header (one byte) and of each aggregated unit's length prefix (two bytes). */
const STAP_A_HEADER_BYTES = 1;
const STAP_A_LENGTH_BYTES = 2;
/** Length prefix of each NAL unit in the AVCC access units this packetizer reads. */
const AVCC_LENGTH_BYTES = 4;
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
   * `nals`: the NAL units of ONE access unit, without start codes. Joins them into AVCC first; a caller
   * that already holds AVCC data (the live output) calls `packetizeAvcc` and skips the copy.
   */
  packetize(nals: readonly Uint8Array[], emit: (payload: Buffer, marker: boolean) => void): void {
    this.packetizeAvcc(joinAvcc(nals), emit);
  }

  /**
   * `accessUnit`: ONE access unit as AVCC (each NAL unit after its 4-byte big-endian length), read in
   * place. Access unit delimiters are left out (RFC 6184 leaves them to the receiver); the marker bit
   * goes on the last payload. Single NAL unit payloads are views of the input; STAP-A and FU-A
   * payloads are new buffers.
   */
  packetizeAvcc(accessUnit: Buffer, emit: (payload: Buffer, marker: boolean) => void): void {
    const last = this.lastSentUnit(accessUnit);
    let at = 0;
    while (at <= last) {
      const length = accessUnit.readUInt32BE(at);
      const start = at + AVCC_LENGTH_BYTES;
      const next = start + length;
      if (!this.isSent(accessUnit, start, length)) {
        at = next;
        continue;
      }
      if (length > this.maxPayloadBytes) {
        this.emitFragments(accessUnit, start, next, at === last, emit);
        at = next;
        continue;
      }
      // Gather the following small NAL units (SPS, PPS, SEI before a slice) into one STAP-A while they fit.
      let stapBytes = STAP_A_HEADER_BYTES + STAP_A_LENGTH_BYTES + length;
      let unitCount = 1;
      let end = next;
      while (end <= last) {
        const nextLength = accessUnit.readUInt32BE(end);
        if (this.isSent(accessUnit, end + AVCC_LENGTH_BYTES, nextLength)) {
          if (stapBytes + STAP_A_LENGTH_BYTES + nextLength > this.maxPayloadBytes) break;
          stapBytes += STAP_A_LENGTH_BYTES + nextLength;
          unitCount++;
        }
        end += AVCC_LENGTH_BYTES + nextLength;
      }
      if (unitCount === 1) {
        emit(accessUnit.subarray(start, next), at === last);
        at = next;
      } else {
        emit(this.buildStapA(accessUnit, at, end, stapBytes), end > last);
        at = end;
      }
    }
  }

  /** Offset of the length prefix of the last NAL unit that is sent (-1 when none is); checks every length on the way. */
  private lastSentUnit(accessUnit: Buffer): number {
    let last = -1;
    let at = 0;
    while (at < accessUnit.length) {
      if (at + AVCC_LENGTH_BYTES > accessUnit.length) throw new Error(`AVCC data ends inside a NAL length at offset ${at}`);
      const length = accessUnit.readUInt32BE(at);
      const start = at + AVCC_LENGTH_BYTES;
      if (start + length > accessUnit.length) throw new Error(`AVCC NAL length ${length} at offset ${at} runs past the end of the data`);
      if (this.isSent(accessUnit, start, length)) last = at;
      at = start + length;
    }
    return last;
  }

  private isSent(accessUnit: Buffer, start: number, length: number): boolean {
    return length > 0 && (accessUnit[start]! & 0x1f) !== NalType.AccessUnitDelimiter;
  }

  /** A STAP-A of the sent NAL units whose length prefixes lie in [from, to). */
  private buildStapA(accessUnit: Buffer, from: number, to: number, size: number): Buffer {
    const payload = Buffer.allocUnsafe(size);
    // The STAP-A header carries the highest importance (NRI) and any forbidden bit of the units inside.
    let forbidden = 0;
    let importance = 0;
    let offset = STAP_A_HEADER_BYTES;
    for (let at = from; at < to; ) {
      const length = accessUnit.readUInt32BE(at);
      const start = at + AVCC_LENGTH_BYTES;
      at = start + length;
      if (!this.isSent(accessUnit, start, length)) continue;
      const header = accessUnit[start]!;
      forbidden |= header & 0x80;
      importance = Math.max(importance, header & 0x60);
      payload.writeUInt16BE(length, offset);
      accessUnit.copy(payload, offset + STAP_A_LENGTH_BYTES, start, at);
      offset += STAP_A_LENGTH_BYTES + length;
    }
    payload[0] = forbidden | importance | NalType.StapA;
    return payload;
  }

  /** FU-A payloads of the NAL unit at [start, end) of `data`. */
  private emitFragments(data: Buffer, start: number, end: number, lastOfAccessUnit: boolean, emit: (payload: Buffer, marker: boolean) => void): void {
    const header = data[start]!;
    const bodyStart = start + 1; // the NAL header travels in the FU indicator and FU header
    const capacity = this.maxPayloadBytes - FU_A_HEADER_BYTES;
    // Even fragments, so the last packet is not a tiny leftover.
    const fragmentCount = Math.ceil((end - bodyStart) / capacity);
    const fragmentBytes = Math.ceil((end - bodyStart) / fragmentCount);
    for (let from = bodyStart; from < end; from += fragmentBytes) {
      const to = Math.min(end, from + fragmentBytes);
      const isFirst = from === bodyStart;
      const isLast = to === end;
      const payload = Buffer.allocUnsafe(FU_A_HEADER_BYTES + to - from);
      payload[0] = (header & 0xe0) | NalType.FuA;
      payload[1] = (isFirst ? 0x80 : 0) | (isLast ? 0x40 : 0) | (header & 0x1f);
      data.copy(payload, FU_A_HEADER_BYTES, from, to);
      emit(payload, lastOfAccessUnit && isLast);
    }
  }
}
