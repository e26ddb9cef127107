import { open, type FileHandle } from 'node:fs/promises';

/** A box of an ISO BMFF (MP4) file: where it starts, where its payload starts, where it ends, and its type. */
interface Box {
  type: string;
  start: number;
  payload: number;
  end: number;
}

/** moov is read whole to be edited; a recording's is a few MiB an hour, so this bound only stops a corrupt size. */
const MAX_MOOV_BYTES = 512 << 20;
/** Boxes on the way from moov to a track's handler and references. */
const CONTAINERS = new Set(['trak', 'mdia', 'tref']);

/**
 * Hides the QuickTime chapter track ffmpeg's MP4 muxer adds beside the Nero `chpl` chapters: players
 * and ffprobe showed it as a third, `data` stream. Its `trak` box and the `tref`/`chap` reference to it
 * are renamed `free` in place (same sizes, so no offset moves); the chapters stay in `moov/udta/chpl`,
 * which ffmpeg and players read. Answers how many tracks were hidden.
 */
export async function hideChapterTrack(file: string): Promise<number> {
  const handle = await open(file, 'r+');
  try {
    const moov = await findTopLevel(handle, 'moov');
    if (!moov) return 0;
    const size = moov.end - moov.start;
    if (size > MAX_MOOV_BYTES) return 0;
    const bytes = Buffer.alloc(size);
    await handle.read(bytes, 0, size, moov.start);
    const tracks = childBoxes(bytes, moov.payload - moov.start, size).filter((box) => box.type === 'trak');
    const chapterIds = new Set<number>();
    const references: Box[] = [];
    for (const track of tracks) {
      const tref = childBoxes(bytes, track.payload, track.end).find((box) => box.type === 'tref');
      if (!tref) continue;
      const children = childBoxes(bytes, tref.payload, tref.end);
      for (const chap of children.filter((box) => box.type === 'chap')) {
        for (let at = chap.payload; at + 4 <= chap.end; at += 4) chapterIds.add(bytes.readUInt32BE(at));
        // A tref holding only the chapter reference goes whole; otherwise only its chap entry.
        references.push(children.length === 1 ? tref : chap);
      }
    }
    const hidden = tracks.filter((track) => chapterIds.has(trackId(bytes, track)) && handlerType(bytes, track) === 'text');
    if (hidden.length === 0) return 0;
    for (const box of [...hidden, ...references]) await handle.write(Buffer.from('free', 'latin1'), 0, 4, moov.start + box.start + 4);
    return hidden.length;
  } finally {
    await handle.close();
  }
}

async function findTopLevel(handle: FileHandle, type: string): Promise<Box | undefined> {
  const fileSize = (await handle.stat()).size;
  const header = Buffer.alloc(16);
  for (let at = 0; at + 8 <= fileSize; ) {
    await handle.read(header, 0, 16, at);
    const box = readBox(header, 0, at, fileSize);
    if (!box) return undefined;
    if (box.type === type) return box;
    at = box.end;
  }
  return undefined;
}

/** The box whose header starts at `offset` of `bytes`; positions are `base` + offset; undefined when malformed. */
function readBox(bytes: Buffer, offset: number, base: number, limit: number): Box | undefined {
  if (offset + 8 > bytes.length) return undefined;
  let size = bytes.readUInt32BE(offset);
  const type = bytes.toString('latin1', offset + 4, offset + 8);
  let headerSize = 8;
  if (size === 1) {
    if (offset + 16 > bytes.length) return undefined;
    size = Number(bytes.readBigUInt64BE(offset + 8));
    headerSize = 16;
  } else if (size === 0) {
    size = limit - base;
  }
  if (size < headerSize || base + size > limit) return undefined;
  return { type, start: base, payload: base + headerSize, end: base + size };
}

/** The boxes directly inside [from, to) of an in-memory moov. */
function childBoxes(bytes: Buffer, from: number, to: number): Box[] {
  const boxes: Box[] = [];
  for (let at = from; at + 8 <= to; ) {
    const box = readBox(bytes, at, at, to);
    if (!box) break;
    boxes.push(box);
    at = box.end;
  }
  return boxes;
}

/** Descends through containers by type (`['mdia', 'hdlr']`) from a box. */
function descend(bytes: Buffer, box: Box, path: readonly string[]): Box | undefined {
  let current: Box | undefined = box;
  for (const type of path) {
    if (!current || (current !== box && !CONTAINERS.has(current.type))) return undefined;
    current = childBoxes(bytes, current.payload, current.end).find((child) => child.type === type);
  }
  return current;
}

function trackId(bytes: Buffer, track: Box): number {
  const tkhd = descend(bytes, track, ['tkhd']);
  if (!tkhd || tkhd.payload + 24 > tkhd.end) return -1;
  // Version 1 has 64-bit creation and modification times before the id.
  return bytes.readUInt32BE(tkhd.payload + (bytes[tkhd.payload] === 1 ? 20 : 12));
}

function handlerType(bytes: Buffer, track: Box): string {
  const hdlr = descend(bytes, track, ['mdia', 'hdlr']);
  if (!hdlr || hdlr.payload + 12 > hdlr.end) return '';
  return bytes.toString('latin1', hdlr.payload + 8, hdlr.payload + 12);
}
