/**
 * EBML building blocks for the live Matroska we write (RFC 8794 for EBML, RFC 9559 for Matroska):
 * header elements are built once as small buffers; cluster starts and SimpleBlock headers are written
 * into buffers the caller owns, so a writer on a hot path allocates nothing per frame.
 */

/** Matroska element ids (RFC 9559), with their length marker bits, as written. */
export const MatroskaId = {
  Ebml: 0x1a45dfa3,
  EbmlVersion: 0x4286,
  EbmlReadVersion: 0x42f7,
  EbmlMaxIdLength: 0x42f2,
  EbmlMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Title: 0x7ba9,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUid: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  Language: 0x22b59c,
  CodecId: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  ColourSpace: 0x2eb524,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
} as const;

export const MatroskaTrackType = { Video: 1, Audio: 2 } as const;

/** Timestamps are counted in milliseconds (TimestampScale is in nanoseconds). */
export const NANOSECONDS_PER_TIMESTAMP = 1_000_000;
/** SimpleBlock flag: the frame can be decoded on its own. */
export const KEYFRAME_FLAG = 0x80;
/** An 8-byte size with every value bit set means "unknown": the element runs until its parent's next sibling. */
const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** Cluster id (4), unknown size (8), Timestamp id (1), size (1), up to 8 value bytes. */
export const MAX_CLUSTER_HEADER_BYTES = 4 + 8 + 1 + 1 + 8;
/** The part of a SimpleBlock's body before the frame: track number (1), relative timestamp (2), flags (1). */
export const BLOCK_PREFIX_BYTES = 1 + 2 + 1;

/** Bytes of the shortest EBML size for `size`; all-ones values are reserved for "unknown". */
export function sizeLength(size: number): number {
  let length = 1;
  while (size >= 2 ** (7 * length) - 1) length++;
  if (length > 8) throw new RangeError(`a Matroska element of ${size} bytes is too large`);
  return length;
}

/** Writes `size` as an EBML variable-size integer of `length` bytes; returns the offset after it. */
export function writeSize(target: Buffer, offset: number, size: number, length: number): number {
  let rest = size;
  for (let index = length - 1; index >= 0; index--) {
    target[offset + index] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  target[offset] = target[offset]! | (0x80 >> (length - 1));
  return offset + length;
}

/** Bytes needed for an unsigned integer (at least one; at most six, which Buffer.writeUIntBE takes). */
function unsignedLength(value: number): number {
  let length = 1;
  while (length < 6 && value >= 2 ** (8 * length)) length++;
  return length;
}

function idBytes(id: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(id);
  let start = 0;
  while (bytes[start] === 0) start++;
  return bytes.subarray(start);
}

/** A master or binary element: id, shortest size, then the children's bytes in order. */
export function element(id: number, ...children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  const size = Buffer.alloc(sizeLength(body.length));
  writeSize(size, 0, body.length, size.length);
  return Buffer.concat([idBytes(id), size, body]);
}

/** An unsigned integer element, in the fewest bytes or in `width` bytes (at most 6). */
export function unsigned(id: number, value: number, width = unsignedLength(value)): Buffer {
  const bytes = Buffer.alloc(width);
  bytes.writeUIntBE(value, 0, bytes.length);
  return element(id, bytes);
}

export function float(id: number, value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return element(id, bytes);
}

export function text(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

/** The EBML header for `docType` ('matroska' or 'webm'), then the start of a Segment of unknown size. */
export function streamStart(docType: 'matroska' | 'webm'): Buffer {
  const ebml = element(
    MatroskaId.Ebml,
    unsigned(MatroskaId.EbmlVersion, 1),
    unsigned(MatroskaId.EbmlReadVersion, 1),
    unsigned(MatroskaId.EbmlMaxIdLength, 4),
    unsigned(MatroskaId.EbmlMaxSizeLength, 8),
    text(MatroskaId.DocType, docType),
    // Version 4 brings CodecDelay and SeekPreRoll; reading needs only version 2 (SimpleBlock).
    unsigned(MatroskaId.DocTypeVersion, 4),
    unsigned(MatroskaId.DocTypeReadVersion, 2),
  );
  return Buffer.concat([ebml, idBytes(MatroskaId.Segment), UNKNOWN_SIZE]);
}

/** A TrackEntry numbered `track` (its uid too), without lacing, then the codec's own elements. */
export function trackEntry(track: number, type: (typeof MatroskaTrackType)[keyof typeof MatroskaTrackType], codecId: string, ...codecElements: Buffer[]): Buffer {
  return element(
    MatroskaId.TrackEntry,
    unsigned(MatroskaId.TrackNumber, track),
    unsigned(MatroskaId.TrackUid, track),
    unsigned(MatroskaId.TrackType, type),
    unsigned(MatroskaId.FlagLacing, 0),
    // Matroska's default language is English; a live stream's is not known.
    text(MatroskaId.Language, 'und'),
    text(MatroskaId.CodecId, codecId),
    ...codecElements,
  );
}

/**
 * Writes a Cluster of unknown size and its Timestamp (at most MAX_CLUSTER_HEADER_BYTES); returns the offset after it.
 * `timestampBytes` fixes the Timestamp's width (1 to 8; the encoder input keeps 8, the layout its ffmpeg was proven with).
 */
export function writeClusterStart(target: Buffer, offset: number, timestampMs: number, timestampBytes = unsignedLength(timestampMs)): number {
  let at = target.writeUInt32BE(MatroskaId.Cluster, offset);
  at += UNKNOWN_SIZE.copy(target, at);
  target[at++] = MatroskaId.Timestamp;
  at = writeSize(target, at, timestampBytes, 1);
  // Buffer.writeUIntBE takes at most 6 bytes; wider fields start with zeros (timestamps stay below 2^48 ms).
  const valueBytes = Math.min(timestampBytes, 6);
  at = target.fill(0, at, at + timestampBytes - valueBytes) && at + timestampBytes - valueBytes;
  return target.writeUIntBE(timestampMs, at, valueBytes);
}

/**
 * Writes a SimpleBlock's id, size (`sizeBytes` long: 8 keeps a fixed layout) and the block prefix for a
 * frame of `frameBytes`, which the caller writes right after; returns the offset after the prefix.
 */
export function writeSimpleBlockHeader(target: Buffer, offset: number, frameBytes: number, sizeBytes: number, track: number, relativeMs: number, flags: number): number {
  target[offset] = MatroskaId.SimpleBlock;
  let at = writeSize(target, offset + 1, BLOCK_PREFIX_BYTES + frameBytes, sizeBytes);
  // Track numbers below 127 take one byte as an EBML variable-size integer.
  target[at++] = 0x80 | track;
  at = target.writeInt16BE(relativeMs, at);
  target[at++] = flags;
  return at;
}
