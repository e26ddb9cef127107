export interface AvcDecoderConfig {
  sps: Buffer[];
  pps: Buffer[];
  /** Bytes of each NAL length prefix in AVCC payloads (1, 2 or 4). */
  lengthSize: number;
  profile: number;
  level: number;
}

/** Parses an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 "avcC"). */
export function parseAvcDecoderConfig(avcC: Buffer): AvcDecoderConfig {
  if (avcC.length < 7 || avcC[0] !== 1) throw new Error('not an AVCDecoderConfigurationRecord (version must be 1)');
  const lengthSize = (avcC[4]! & 0x03) + 1;
  const sps: Buffer[] = [];
  const pps: Buffer[] = [];
  let offset = 5;
  const read = (count: number, into: Buffer[]): void => {
    for (let index = 0; index < count; index++) {
      if (offset + 2 > avcC.length) throw new Error('avcC is truncated');
      const length = avcC.readUInt16BE(offset);
      offset += 2;
      if (offset + length > avcC.length) throw new Error('avcC parameter set runs past its end');
      into.push(avcC.subarray(offset, offset + length));
      offset += length;
    }
  };
  read(avcC[offset++]! & 0x1f, sps);
  if (offset >= avcC.length) throw new Error('avcC is truncated');
  read(avcC[offset++]!, pps);
  return { sps, pps, lengthSize, profile: avcC[1]!, level: avcC[3]! };
}

/** Builds an avcC record with 4-byte NAL lengths from one SPS and one PPS. */
export function buildAvcDecoderConfig(sps: Buffer, pps: Buffer): Buffer {
  const record = Buffer.alloc(11 + sps.length + pps.length);
  record[0] = 1;
  record[1] = sps[1]!;
  record[2] = sps[2]!;
  record[3] = sps[3]!;
  record[4] = 0xfc | 3;
  record[5] = 0xe0 | 1;
  record.writeUInt16BE(sps.length, 6);
  sps.copy(record, 8);
  record[8 + sps.length] = 1;
  record.writeUInt16BE(pps.length, 9 + sps.length);
  pps.copy(record, 11 + sps.length);
  return record;
}
