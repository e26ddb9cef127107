export interface H264SpsInfo {
  width: number;
  height: number;
  profileIdc: number;
  levelIdc: number;
}

/** Reads Exp-Golomb coded fields from an RBSP (emulation prevention bytes already removed). */
class BitReader {
  private bit = 0;
  constructor(private readonly data: Uint8Array) {}

  readBit(): number {
    const byte = this.bit >> 3;
    if (byte >= this.data.length) throw new Error('H.264 SPS is truncated');
    const value = (this.data[byte]! >> (7 - (this.bit & 7))) & 1;
    this.bit++;
    return value;
  }

  readBits(count: number): number {
    let value = 0;
    for (let index = 0; index < count; index++) value = value * 2 + this.readBit();
    return value;
  }

  readUnsignedGolomb(): number {
    let zeros = 0;
    while (this.readBit() === 0) {
      zeros++;
      if (zeros > 31) throw new Error('H.264 SPS has an invalid Exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.readBits(zeros);
  }

  readSignedGolomb(): number {
    const value = this.readUnsignedGolomb();
    return value & 1 ? (value + 1) / 2 : -(value / 2);
  }
}

function removeEmulationPrevention(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let length = 0;
  let zeros = 0;
  for (let index = 0; index < nal.length; index++) {
    const byte = nal[index]!;
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[length++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, length);
}

function skipScalingList(reader: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let index = 0; index < size; index++) {
    if (next !== 0) next = (last + reader.readSignedGolomb() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Picture size of an H.264 sequence parameter set (NAL starting with its header byte), cropping applied. */
export function parseH264Sps(nal: Uint8Array): H264SpsInfo {
  if (nal.length < 4 || (nal[0]! & 0x1f) !== 7) throw new Error('not an H.264 SPS NAL unit');
  const reader = new BitReader(removeEmulationPrevention(nal.subarray(1)));
  const profileIdc = reader.readBits(8);
  reader.readBits(8); // constraint flags
  const levelIdc = reader.readBits(8);
  reader.readUnsignedGolomb(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlane = 0;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = reader.readUnsignedGolomb();
    if (chromaFormatIdc === 3) separateColourPlane = reader.readBit();
    reader.readUnsignedGolomb(); // bit_depth_luma_minus8
    reader.readUnsignedGolomb(); // bit_depth_chroma_minus8
    reader.readBit(); // qpprime_y_zero_transform_bypass_flag
    if (reader.readBit()) {
      for (let index = 0; index < (chromaFormatIdc === 3 ? 12 : 8); index++) {
        if (reader.readBit()) skipScalingList(reader, index < 6 ? 16 : 64);
      }
    }
  }
  reader.readUnsignedGolomb(); // log2_max_frame_num_minus4
  const picOrderCntType = reader.readUnsignedGolomb();
  if (picOrderCntType === 0) {
    reader.readUnsignedGolomb();
  } else if (picOrderCntType === 1) {
    reader.readBit();
    reader.readSignedGolomb();
    reader.readSignedGolomb();
    const cycle = reader.readUnsignedGolomb();
    for (let index = 0; index < cycle; index++) reader.readSignedGolomb();
  }
  reader.readUnsignedGolomb(); // max_num_ref_frames
  reader.readBit(); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = reader.readUnsignedGolomb() + 1;
  const heightInMapUnits = reader.readUnsignedGolomb() + 1;
  const frameMbsOnly = reader.readBit();
  if (!frameMbsOnly) reader.readBit(); // mb_adaptive_frame_field_flag
  reader.readBit(); // direct_8x8_inference_flag
  let cropLeft = 0;
  let cropRight = 0;
  let cropTop = 0;
  let cropBottom = 0;
  if (reader.readBit()) {
    cropLeft = reader.readUnsignedGolomb();
    cropRight = reader.readUnsignedGolomb();
    cropTop = reader.readUnsignedGolomb();
    cropBottom = reader.readUnsignedGolomb();
  }
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const cropUnitX = chromaArrayType === 0 ? 1 : chromaFormatIdc === 3 ? 1 : 2;
  const cropUnitY = (chromaArrayType === 0 ? 1 : chromaFormatIdc === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = widthInMbs * 16 - cropUnitX * (cropLeft + cropRight);
  const height = (2 - frameMbsOnly) * heightInMapUnits * 16 - cropUnitY * (cropTop + cropBottom);
  if (width <= 0 || height <= 0) throw new Error(`H.264 SPS gives an impossible size ${width}x${height}`);
  return { width, height, profileIdc, levelIdc };
}
