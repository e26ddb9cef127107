import { open, type FileHandle } from 'node:fs/promises';

/** A container livefx imports, told by the first bytes of the file. */
interface Signature {
  name: string;
  matches: (head: Buffer) => boolean;
}

const ascii = (head: Buffer, at: number, text: string): boolean => head.toString('latin1', at, at + text.length) === text;
const bytes = (head: Buffer, at: number, values: readonly number[]): boolean => values.every((value, index) => head[at + index] === value);
/** Box types an ISO BMFF file (MP4, MOV, 3GP) can start with. */
const FIRST_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'uuid', 'styp', 'sidx', 'moof']);

const SIGNATURES: readonly Signature[] = [
  { name: 'MP4/MOV', matches: (head) => FIRST_BOXES.has(head.toString('latin1', 4, 8)) },
  { name: 'Matroska/WebM', matches: (head) => bytes(head, 0, [0x1a, 0x45, 0xdf, 0xa3]) },
  { name: 'MPEG-TS', matches: (head) => (head[0] === 0x47 && (head.length <= 188 || head[188] === 0x47)) || (head[4] === 0x47 && (head.length <= 196 || head[196] === 0x47)) },
  { name: 'MPEG-PS or an MPEG/H.264/H.265 elementary stream', matches: (head) => bytes(head, 0, [0, 0, 1]) || bytes(head, 0, [0, 0, 0, 1]) },
  { name: 'AVI', matches: (head) => ascii(head, 0, 'RIFF') && ascii(head, 8, 'AVI ') },
  { name: 'FLV', matches: (head) => ascii(head, 0, 'FLV') },
  { name: 'Ogg', matches: (head) => ascii(head, 0, 'OggS') },
  { name: 'ASF/WMV', matches: (head) => bytes(head, 0, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11]) },
  { name: 'MXF', matches: (head) => bytes(head, 0, [0x06, 0x0e, 0x2b, 0x34]) },
  { name: 'IVF', matches: (head) => ascii(head, 0, 'DKIF') },
  { name: 'Y4M', matches: (head) => ascii(head, 0, 'YUV4MPEG2') },
  { name: 'NUT', matches: (head) => ascii(head, 0, 'nut/multimedia container') },
  { name: 'RealMedia', matches: (head) => ascii(head, 0, '.RMF') },
];

/** Files people upload by mistake, named so the refusal says what the file is. */
const NOT_VIDEO: readonly Signature[] = [
  { name: 'a PNG image', matches: (head) => bytes(head, 0, [0x89, 0x50, 0x4e, 0x47]) },
  { name: 'a JPEG image', matches: (head) => bytes(head, 0, [0xff, 0xd8, 0xff]) },
  { name: 'a GIF image', matches: (head) => ascii(head, 0, 'GIF8') },
  { name: 'a WebP image', matches: (head) => ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP') },
  { name: 'a WAV audio file', matches: (head) => ascii(head, 0, 'RIFF') && ascii(head, 8, 'WAVE') },
  { name: 'a PDF document', matches: (head) => ascii(head, 0, '%PDF') },
  { name: 'a ZIP archive', matches: (head) => ascii(head, 0, 'PK\u0003\u0004') },
];

const HEAD_BYTES = 256;
const BOX_TYPE = /^[\x20-\x7e]{4}$/;

/** What the first bytes say: why the file cannot be imported, or the container it claims to be. */
export type MediaSignature = { problem: string } | { container: string };

/**
 * A look at a file's first bytes (and, for MP4/MOV, its top-level boxes) before any ffprobe or ffmpeg
 * is started: what is not a video container, or an MP4 whose boxes do not add up, is refused for the
 * cost of a few reads instead of a process.
 */
export async function readMediaSignature(file: string): Promise<MediaSignature> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size === 0) return { problem: 'the file is empty' };
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    await handle.read(head, 0, head.length, 0);
    const mistake = NOT_VIDEO.find((signature) => signature.matches(head));
    if (mistake) return { problem: `it is ${mistake.name}, not a video` };
    const container = SIGNATURES.find((signature) => signature.matches(head));
    if (!container) return { problem: `its first bytes are not those of a video container livefx imports (${SIGNATURES.map((signature) => signature.name).join(', ')})` };
    if (container.name !== 'MP4/MOV') return { container: container.name };
    const problem = await isoBoxProblem(handle, size);
    return problem ? { problem } : { container: container.name };
  } finally {
    await handle.close();
  }
}

/** Walks the top-level boxes of an MP4/MOV: each must be a whole box inside the file, and one must be moov. */
async function isoBoxProblem(handle: FileHandle, size: number): Promise<string | undefined> {
  const header = Buffer.alloc(16);
  let moov = false;
  let at = 0;
  while (size - at >= 8) {
    await handle.read(header, 0, 16, at);
    const type = header.toString('latin1', 4, 8);
    let boxSize = header.readUInt32BE(0);
    if (boxSize === 1) boxSize = size - at >= 16 ? Number(header.readBigUInt64BE(8)) : 0;
    else if (boxSize === 0) boxSize = size - at;
    if (!BOX_TYPE.test(type) || boxSize < 8) return `it is damaged: at byte ${at} there is no MP4 box (${boxSize < 8 ? `size ${boxSize}` : 'unreadable type'})`;
    if (type === 'moov') moov = true;
    if (at + boxSize > size) {
      const short = `the file ends inside its ${type} box, ${at + boxSize - size} bytes short`;
      return moov ? `it looks truncated: ${short}` : `moov atom not found: ${short} (truncated?)`;
    }
    at += boxSize;
  }
  return moov ? undefined : 'moov atom not found (the MP4 is cut short or damaged)';
}
