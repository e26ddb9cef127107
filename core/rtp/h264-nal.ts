/** NAL unit types used by livefx (ITU-T H.264 table 7-1, RFC 6184 section 5.4 for 24–29). */
export const NalType = {
  NonIdrSlice: 1,
  IdrSlice: 5,
  Sei: 6,
  Sps: 7,
  Pps: 8,
  AccessUnitDelimiter: 9,
  StapA: 24,
  StapB: 25,
  Mtap16: 26,
  Mtap24: 27,
  FuA: 28,
  FuB: 29,
} as const;

/** The 5-bit nal_unit_type of a NAL unit (or of an RTP payload, whose first byte has the same layout). */
export function nalType(nal: Uint8Array): number {
  return nal[0]! & 0x1f;
}

/** NAL unit types 1–23 are real NAL units; 24–29 only exist as RTP payload structures. */
export function isSingleNalType(type: number): boolean {
  return type >= 1 && type <= 23;
}

/** True when one of the NAL units is an IDR slice, i.e. the access unit is a keyframe. */
export function containsIdrSlice(nals: readonly Uint8Array[]): boolean {
  return nals.some((nal) => nal.length > 0 && nalType(nal) === NalType.IdrSlice);
}

const THREE_BYTE_START_CODE = Buffer.from([0, 0, 1]);

/** NAL units of an Annex-B byte stream (3- or 4-byte start codes), without the start codes; views into `data`. */
export function splitAnnexB(data: Buffer): Buffer[] {
  const units: Buffer[] = [];
  let startCode = data.indexOf(THREE_BYTE_START_CODE);
  while (startCode >= 0) {
    const start = startCode + 3;
    const next = data.indexOf(THREE_BYTE_START_CODE, start);
    let end = next < 0 ? data.length : next;
    // Zeros before a start code are the 4-byte start code's first byte or trailing_zero_8bits, never NAL data.
    while (end > start && data[end - 1] === 0) end--;
    if (end > start) units.push(data.subarray(start, end));
    startCode = next;
  }
  return units;
}

/** NAL units of AVCC data (each prefixed by its big-endian length in `lengthSize` bytes); views into `data`. */
export function splitAvcc(data: Buffer, lengthSize = 4): Buffer[] {
  if (lengthSize < 1 || lengthSize > 4) throw new RangeError(`AVCC length size must be 1 to 4 bytes, not ${lengthSize}`);
  const units: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + lengthSize > data.length) throw new Error(`AVCC data ends inside a ${lengthSize}-byte NAL length at offset ${offset}`);
    const length = data.readUIntBE(offset, lengthSize);
    offset += lengthSize;
    if (offset + length > data.length) throw new Error(`AVCC NAL length ${length} at offset ${offset - lengthSize} runs past the end of the data`);
    if (length > 0) units.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return units;
}

/** NAL units as one AVCC buffer with 4-byte big-endian lengths: what Matroska's V_MPEG4/ISO/AVC carries and `splitAvcc` reads. */
export function joinAvcc(nalUnits: readonly Uint8Array[]): Buffer<ArrayBuffer> {
  let byteLength = 0;
  for (const nal of nalUnits) byteLength += 4 + nal.length;
  const data = Buffer.allocUnsafe(byteLength);
  let offset = 0;
  for (const nal of nalUnits) {
    data.writeUInt32BE(nal.length, offset);
    data.set(nal, offset + 4);
    offset += 4 + nal.length;
  }
  return data;
}
