export interface H264SpsInfo {
  /** Displayed size: coded macroblocks minus the frame cropping. */
  width: number;
  height: number;
  profileIdc: number;
  levelIdc: number;
}

/** Reads bits and Exp-Golomb codes (H.264 section 9.1) from an RBSP whose emulation-prevention bytes are gone. */
class RbspBitReader {
  private bitPosition = 0;

  constructor(private readonly data: Uint8Array) {}

  readBit(): number {
    const byteIndex = this.bitPosition >>> 3;
    if (byteIndex >= this.data.length) {
      throw new Error(`H.264 SPS is truncated: it ends after ${this.data.length} bytes, in the middle of a field`);
    }
    const bit = (this.data[byteIndex]! >>> (7 - (this.bitPosition & 7))) & 1;
    this.bitPosition++;
    return bit;
  }

  /** Up to 32 bits, most significant first. */
  readBits(count: number): number {
    let value = 0;
    for (let index = 0; index < count; index++) value = value * 2 + this.readBit();
    return value;
  }

  readFlag(): boolean {
    return this.readBit() === 1;
  }

  /** ue(v). */
  readUnsignedExpGolomb(): number {
    let leadingZeros = 0;
    while (this.readBit() === 0) {
      leadingZeros++;
      if (leadingZeros > 31) throw new Error('H.264 SPS has an Exp-Golomb code longer than 32 bits');
    }
    return 2 ** leadingZeros - 1 + this.readBits(leadingZeros);
  }

  /** se(v): 1, 2, 3, 4 … map to 1, -1, 2, -2 … */
  readSignedExpGolomb(): number {
    const codeNumber = this.readUnsignedExpGolomb();
    return codeNumber % 2 === 1 ? (codeNumber + 1) / 2 : -(codeNumber / 2);
  }
}

/** Profiles whose SPS carries chroma format, bit depths and scaling matrices (H.264 section 7.3.2.1.1). */
const PROFILES_WITH_CHROMA_INFO = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** The NAL unit payload with every 00 00 03 turned back into 00 00 (H.264 section 7.4.1). */
function removeEmulationPrevention(payload: Uint8Array): Uint8Array {
  const rbsp = new Uint8Array(payload.length);
  let length = 0;
  let zeroRun = 0;
  for (let index = 0; index < payload.length; index++) {
    const byte = payload[index]!;
    if (zeroRun >= 2 && byte === 3) {
      zeroRun = 0;
      continue;
    }
    rbsp[length++] = byte;
    zeroRun = byte === 0 ? zeroRun + 1 : 0;
  }
  return rbsp.subarray(0, length);
}

/** scaling_list() of H.264 section 7.3.2.1.1.1: only read to get past it. */
function skipScalingList(reader: RbspBitReader, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let index = 0; index < size && nextScale !== 0; index++) {
    nextScale = (lastScale + reader.readSignedExpGolomb() + 256) % 256;
    if (nextScale !== 0) lastScale = nextScale;
  }
}

/**
 * Reads the picture size and profile from an H.264 sequence parameter set. `nal` starts with the NAL
 * header byte (0x67, 0x27 …), without a start code. Throws when the SPS is truncated or impossible.
 */
export function parseH264Sps(nal: Uint8Array): H264SpsInfo {
  if (nal.length === 0) throw new Error('H.264 SPS is truncated: it is empty');
  if ((nal[0]! & 0x1f) !== 7) throw new Error(`not an H.264 SPS: NAL unit type ${nal[0]! & 0x1f}, expected 7`);
  const reader = new RbspBitReader(removeEmulationPrevention(nal.subarray(1)));
  const profileIdc = reader.readBits(8);
  reader.readBits(8); // constraint_set flags and reserved_zero_2bits
  const levelIdc = reader.readBits(8);
  reader.readUnsignedExpGolomb(); // seq_parameter_set_id

  let chromaFormatIdc = 1; // 4:2:0 unless the profile says otherwise
  let separateColourPlane = false;
  if (PROFILES_WITH_CHROMA_INFO.has(profileIdc)) {
    chromaFormatIdc = reader.readUnsignedExpGolomb();
    if (chromaFormatIdc > 3) throw new Error(`H.264 SPS has an invalid chroma_format_idc ${chromaFormatIdc}`);
    if (chromaFormatIdc === 3) separateColourPlane = reader.readFlag();
    reader.readUnsignedExpGolomb(); // bit_depth_luma_minus8
    reader.readUnsignedExpGolomb(); // bit_depth_chroma_minus8
    reader.readFlag(); // qpprime_y_zero_transform_bypass_flag
    if (reader.readFlag()) {
      // seq_scaling_matrix_present_flag: six 4x4 lists, then two (4:2:0, 4:2:2) or six (4:4:4) 8x8 lists.
      const listCount = chromaFormatIdc === 3 ? 12 : 8;
      for (let list = 0; list < listCount; list++) {
        if (reader.readFlag()) skipScalingList(reader, list < 6 ? 16 : 64);
      }
    }
  }

  reader.readUnsignedExpGolomb(); // log2_max_frame_num_minus4
  const picOrderCountType = reader.readUnsignedExpGolomb();
  if (picOrderCountType === 0) {
    reader.readUnsignedExpGolomb(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (picOrderCountType === 1) {
    reader.readFlag(); // delta_pic_order_always_zero_flag
    reader.readSignedExpGolomb(); // offset_for_non_ref_pic
    reader.readSignedExpGolomb(); // offset_for_top_to_bottom_field
    const cycleLength = reader.readUnsignedExpGolomb();
    if (cycleLength > 255) throw new Error(`H.264 SPS has an invalid num_ref_frames_in_pic_order_cnt_cycle ${cycleLength}`);
    for (let index = 0; index < cycleLength; index++) reader.readSignedExpGolomb(); // offset_for_ref_frame
  } else if (picOrderCountType !== 2) {
    throw new Error(`H.264 SPS has an invalid pic_order_cnt_type ${picOrderCountType}`);
  }
  reader.readUnsignedExpGolomb(); // max_num_ref_frames
  reader.readFlag(); // gaps_in_frame_num_value_allowed_flag
  const widthInMacroblocks = reader.readUnsignedExpGolomb() + 1;
  const heightInMapUnits = reader.readUnsignedExpGolomb() + 1;
  const frameMacroblocksOnly = reader.readFlag();
  if (!frameMacroblocksOnly) reader.readFlag(); // mb_adaptive_frame_field_flag
  reader.readFlag(); // direct_8x8_inference_flag

  let cropLeft = 0;
  let cropRight = 0;
  let cropTop = 0;
  let cropBottom = 0;
  if (reader.readFlag()) {
    cropLeft = reader.readUnsignedExpGolomb();
    cropRight = reader.readUnsignedExpGolomb();
    cropTop = reader.readUnsignedExpGolomb();
    cropBottom = reader.readUnsignedExpGolomb();
  }
  reader.readFlag(); // vui_parameters_present_flag: reading it proves the fields before it were all there

  // Crop offsets count in chroma samples, and in field pairs for interlaced coding (equations 7-19 to 7-22).
  const fieldFactor = frameMacroblocksOnly ? 1 : 2;
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeight = chromaArrayType === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidth;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeight) * fieldFactor;
  const width = widthInMacroblocks * 16 - cropUnitX * (cropLeft + cropRight);
  const height = heightInMapUnits * 16 * fieldFactor - cropUnitY * (cropTop + cropBottom);
  if (width <= 0 || height <= 0) throw new Error(`H.264 SPS gives an impossible picture size ${width}x${height}`);
  return { width, height, profileIdc, levelIdc };
}
