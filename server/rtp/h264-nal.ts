/** NAL unit types used here (ITU-T H.264 table 7-1). */
export const NalType = {
  NonIdrSlice: 1,
  IdrSlice: 5,
  Sei: 6,
  Sps: 7,
  Pps: 8,
  AccessUnitDelimiter: 9,
  StapA: 24,
  FuA: 28,
} as const;

export function nalType(nal: Uint8Array): number {
  return nal[0]! & 0x1f;
}

/** NAL units of an Annex-B byte stream (3- or 4-byte start codes), without the start codes. */
export function splitAnnexB(data: Buffer): Buffer[] {
  const units: Buffer[] = [];
  let start = -1;
  let index = 0;
  while (index + 2 < data.length) {
    if (data[index] === 0 && data[index + 1] === 0 && data[index + 2] === 1) {
      if (start >= 0) {
        let end = index;
        // A 4-byte start code's leading zero belongs to the start code, not to the previous NAL.
        while (end > start && data[end - 1] === 0) end--;
        units.push(data.subarray(start, end));
      }
      index += 3;
      start = index;
    } else {
      index++;
    }
  }
  if (start >= 0 && start < data.length) units.push(data.subarray(start));
  return units.filter((unit) => unit.length > 0);
}

/** NAL units of an AVCC payload (each prefixed by a big-endian length of lengthSize bytes). */
export function splitAvcc(data: Buffer, lengthSize = 4): Buffer[] {
  const units: Buffer[] = [];
  let offset = 0;
  while (offset + lengthSize <= data.length) {
    const length = data.readUIntBE(offset, lengthSize);
    offset += lengthSize;
    if (length === 0 || offset + length > data.length) throw new Error(`AVCC NAL length ${length} runs past the end of the data`);
    units.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return units;
}
