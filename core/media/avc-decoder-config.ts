/** The parts of an AVCDecoderConfigurationRecord ("avcC", ISO/IEC 14496-15 section 5.3.3.1) livefx uses. */
export interface AvcDecoderConfig {
  /** Sequence parameter set NAL units, without start codes or length prefixes; views into the record. */
  sps: Buffer[];
  /** Picture parameter set NAL units, without start codes or length prefixes; views into the record. */
  pps: Buffer[];
  /** Bytes of each NAL unit length prefix in this stream's AVCC payloads: 1, 2 or 4. */
  lengthSize: number;
  /** AVCProfileIndication (the SPS profile_idc). */
  profile: number;
  /** AVCLevelIndication (the SPS level_idc). */
  level: number;
}

/** configurationVersion, profile, compatibility, level, lengthSizeMinusOne, numOfSequenceParameterSets. */
const FIXED_HEADER_BYTES = 6;

/** Parses an AVCDecoderConfigurationRecord; throws with the reason when it is malformed. */
export function parseAvcDecoderConfig(avcC: Buffer): AvcDecoderConfig {
  if (avcC.length < FIXED_HEADER_BYTES + 1) throw new Error(`avcC is ${avcC.length} bytes, too short for an AVCDecoderConfigurationRecord`);
  if (avcC[0] !== 1) throw new Error(`avcC configurationVersion is ${avcC[0]}, not 1`);
  const lengthSize = (avcC[4]! & 0x03) + 1;
  // ISO/IEC 14496-15 forbids 3-byte lengths (lengthSizeMinusOne = 2).
  if (lengthSize === 3) throw new Error('avcC declares 3-byte NAL unit lengths, which ISO/IEC 14496-15 does not allow');
  let offset = 5;
  const readParameterSets = (count: number, kind: string): Buffer[] => {
    const sets: Buffer[] = [];
    for (let index = 0; index < count; index++) {
      if (offset + 2 > avcC.length) throw new Error(`avcC ends before the length of ${kind} ${index}`);
      const length = avcC.readUInt16BE(offset);
      offset += 2;
      if (offset + length > avcC.length) throw new Error(`avcC ${kind} ${index} (${length} bytes) runs past the end of the record`);
      sets.push(avcC.subarray(offset, offset + length));
      offset += length;
    }
    return sets;
  };
  const sps = readParameterSets(avcC[offset++]! & 0x1f, 'SPS');
  if (offset >= avcC.length) throw new Error('avcC ends before its PPS count');
  const pps = readParameterSets(avcC[offset++]!, 'PPS');
  if (sps.length === 0) throw new Error('avcC holds no SPS');
  return { sps, pps, lengthSize, profile: avcC[1]!, level: avcC[3]! };
}

/**
 * Builds an avcC with 4-byte NAL unit lengths from one SPS and one PPS (NAL units without start codes).
 * It leaves out the high-profile chroma/bit-depth extension: decoders read those from the SPS itself.
 */
export function buildAvcDecoderConfig(sps: Buffer, pps: Buffer): Buffer {
  if (sps.length < 4) throw new Error(`an SPS of ${sps.length} bytes is too short to hold profile and level`);
  if (sps.length > 0xffff || pps.length > 0xffff) throw new Error('a parameter set longer than 65535 bytes does not fit in an avcC');
  const record = Buffer.alloc(FIXED_HEADER_BYTES + 2 + sps.length + 1 + 2 + pps.length);
  record[0] = 1;
  // profile_idc, constraint flags and level_idc follow the SPS NAL header byte.
  record[1] = sps[1]!;
  record[2] = sps[2]!;
  record[3] = sps[3]!;
  record[4] = 0xfc | (4 - 1);
  record[5] = 0xe0 | 1;
  let offset = FIXED_HEADER_BYTES;
  record.writeUInt16BE(sps.length, offset);
  offset += 2 + sps.copy(record, offset + 2);
  record[offset++] = 1;
  record.writeUInt16BE(pps.length, offset);
  pps.copy(record, offset + 2);
  return record;
}
