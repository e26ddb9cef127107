/** One moof+mdat pair as it came from the muxer, with what a playlist needs to know about it. */
export interface Fmp4Fragment {
  /** The fragment's bytes, in a buffer of their own (transferable to another thread). */
  bytes: ArrayBuffer;
  /** Its length in seconds: the sum of its samples' durations on the video track (the first track without video). */
  durationS: number;
  /** Whether its first video sample is a sync sample (a keyframe): a player may start decoding here. */
  independent: boolean;
}

export interface Fmp4FragmentReaderOptions {
  /** ftyp+moov: the initialization segment. */
  onInit: (bytes: ArrayBuffer) => void;
  onFragment: (fragment: Fmp4Fragment) => void;
  /** The stream is not fragmented MP4 as expected; the reader stops. */
  onError: (error: Error) => void;
  /** Start size of the reusable read buffer; it grows (doubling) to fit the largest box pair. */
  initialBytes?: number;
}

interface TrackDefaults {
  timescale: number;
  video: boolean;
  defaultDuration: number;
  defaultFlags: number;
}

/** A box that would need more than this is refused (a broken stream would otherwise grow the buffer without end). */
const MAX_BOX_BYTES = 64 * 1024 * 1024;
const SAMPLE_IS_NON_SYNC = 0x10000;

/**
 * Splits a fragmented MP4 byte stream (ffmpeg `-movflags frag_keyframe+empty_moov+default_base_moof`
 * on a pipe) into its init segment and its fragments, reading each moof's sample table for the
 * fragment's duration and whether it starts with a keyframe. Chunks are gathered in one reused
 * buffer; the only allocation per fragment is the copy handed out.
 */
export class Fmp4FragmentReader {
  private buffer: Buffer;
  private start = 0;
  private end = 0;
  private readonly tracks = new Map<number, TrackDefaults>();
  private failed = false;

  constructor(private readonly options: Fmp4FragmentReaderOptions) {
    this.buffer = Buffer.allocUnsafe(options.initialBytes ?? 512 * 1024);
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    this.makeRoom(chunk.length);
    chunk.copy(this.buffer, this.end);
    this.end += chunk.length;
    try {
      this.readGroups();
    } catch (error) {
      this.failed = true;
      this.options.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private makeRoom(bytes: number): void {
    if (this.end + bytes <= this.buffer.length) return;
    const pending = this.end - this.start;
    if (pending + bytes <= this.buffer.length) {
      this.buffer.copyWithin(0, this.start, this.end);
    } else {
      let size = this.buffer.length * 2;
      while (size < pending + bytes) size *= 2;
      if (size > MAX_BOX_BYTES * 2) throw new Error(`an fMP4 box pair over ${MAX_BOX_BYTES} bytes`);
      const grown = Buffer.allocUnsafe(size);
      this.buffer.copy(grown, 0, this.start, this.end);
      this.buffer = grown;
    }
    this.start = 0;
    this.end = pending;
  }

  /** Consumes whole top-level boxes; ftyp and moof are taken together with the box after them (moov, mdat). */
  private readGroups(): void {
    for (;;) {
      const first = this.boxAt(this.start);
      if (!first) return;
      if (first.type !== 'ftyp' && first.type !== 'moof') {
        this.start = first.end;
        continue;
      }
      const second = this.boxAt(first.end);
      if (!second) return;
      if (first.type === 'ftyp') {
        if (second.type !== 'moov') throw new Error(`expected moov after ftyp, got "${second.type}"`);
        this.readMoov(second.bodyStart, second.end);
        this.options.onInit(this.copyOut(this.start, second.end));
      } else {
        if (second.type !== 'mdat') throw new Error(`expected mdat after moof, got "${second.type}"`);
        const timing = this.readMoof(first.bodyStart, first.end);
        this.options.onFragment({ bytes: this.copyOut(this.start, second.end), ...timing });
      }
      this.start = second.end;
    }
  }

  /** The complete box starting at `offset`, or undefined while its bytes have not all arrived. */
  private boxAt(offset: number): { type: string; bodyStart: number; end: number } | undefined {
    if (this.end - offset < 8) return undefined;
    let size = this.buffer.readUInt32BE(offset);
    let header = 8;
    if (size === 1) {
      if (this.end - offset < 16) return undefined;
      size = Number(this.buffer.readBigUInt64BE(offset + 8));
      header = 16;
    }
    if (size < header) throw new Error(`an fMP4 box of ${size} bytes (size 0, "to the end", is not supported on a live pipe)`);
    if (size > MAX_BOX_BYTES) throw new Error(`an fMP4 box of ${size} bytes, over ${MAX_BOX_BYTES}`);
    if (this.end - offset < size) return undefined;
    return { type: this.buffer.toString('latin1', offset + 4, offset + 8), bodyStart: offset + header, end: offset + size };
  }

  private copyOut(from: number, to: number): ArrayBuffer {
    const copy = new ArrayBuffer(to - from);
    this.buffer.copy(new Uint8Array(copy), 0, from, to);
    return copy;
  }

  /** Calls `visit` for each child box of the body [start, end). */
  private children(start: number, end: number, visit: (type: string, bodyStart: number, boxEnd: number) => void): void {
    let offset = start;
    while (offset + 8 <= end) {
      const size = this.buffer.readUInt32BE(offset);
      if (size < 8 || offset + size > end) throw new Error('a malformed fMP4 box inside moov or moof');
      visit(this.buffer.toString('latin1', offset + 4, offset + 8), offset + 8, offset + size);
      offset += size;
    }
  }

  private readMoov(start: number, end: number): void {
    this.tracks.clear();
    const trex = new Map<number, { duration: number; flags: number }>();
    this.children(start, end, (type, body, boxEnd) => {
      if (type === 'trak') this.readTrak(body, boxEnd);
      if (type === 'mvex') {
        this.children(body, boxEnd, (childType, childBody) => {
          // trex: version+flags, track_ID, default_sample_description_index, default_sample_duration, default_sample_size, default_sample_flags.
          if (childType === 'trex') trex.set(this.buffer.readUInt32BE(childBody + 4), { duration: this.buffer.readUInt32BE(childBody + 12), flags: this.buffer.readUInt32BE(childBody + 20) });
        });
      }
    });
    for (const [trackId, defaults] of trex) {
      const track = this.tracks.get(trackId);
      if (track) Object.assign(track, { defaultDuration: defaults.duration, defaultFlags: defaults.flags });
    }
    if (this.tracks.size === 0) throw new Error('the fMP4 moov has no track');
  }

  private readTrak(start: number, end: number): void {
    let trackId = 0;
    const track: TrackDefaults = { timescale: 0, video: false, defaultDuration: 0, defaultFlags: 0 };
    this.children(start, end, (type, body, boxEnd) => {
      // tkhd: version 1 has 64-bit times before track_ID.
      if (type === 'tkhd') trackId = this.buffer.readUInt32BE(body + (this.buffer[body] === 1 ? 20 : 12));
      if (type !== 'mdia') return;
      this.children(body, boxEnd, (childType, childBody) => {
        if (childType === 'mdhd') track.timescale = this.buffer.readUInt32BE(childBody + (this.buffer[childBody] === 1 ? 20 : 12));
        if (childType === 'hdlr') track.video = this.buffer.toString('latin1', childBody + 8, childBody + 12) === 'vide';
      });
    });
    if (trackId > 0 && track.timescale > 0) this.tracks.set(trackId, track);
  }

  /** Duration and keyframe start of the fragment, read from the video track's traf (or the first traf without video). */
  private readMoof(start: number, end: number): { durationS: number; independent: boolean } {
    let chosen: { durationS: number; independent: boolean; video: boolean } | undefined;
    this.children(start, end, (type, body, boxEnd) => {
      if (type !== 'traf' || chosen?.video) return;
      const traf = this.readTraf(body, boxEnd);
      if (traf) chosen = traf;
    });
    if (!chosen) throw new Error('an fMP4 moof with no traf of a known track');
    return { durationS: chosen.durationS, independent: chosen.independent };
  }

  private readTraf(start: number, end: number): { durationS: number; independent: boolean; video: boolean } | undefined {
    let track: TrackDefaults | undefined;
    let defaultDuration = 0;
    let defaultFlags = 0;
    let ticks = 0;
    let firstFlags: number | undefined;
    this.children(start, end, (type, body) => {
      const flags = this.buffer.readUInt32BE(body) & 0xffffff;
      if (type === 'tfhd') {
        track = this.tracks.get(this.buffer.readUInt32BE(body + 4));
        defaultDuration = track?.defaultDuration ?? 0;
        defaultFlags = track?.defaultFlags ?? 0;
        let offset = body + 8;
        if (flags & 0x1) offset += 8; // base_data_offset
        if (flags & 0x2) offset += 4; // sample_description_index
        if (flags & 0x8) {
          defaultDuration = this.buffer.readUInt32BE(offset);
          offset += 4;
        }
        if (flags & 0x10) offset += 4; // default_sample_size
        if (flags & 0x20) defaultFlags = this.buffer.readUInt32BE(offset);
      } else if (type === 'trun') {
        const count = this.buffer.readUInt32BE(body + 4);
        let offset = body + 8;
        if (flags & 0x1) offset += 4; // data_offset
        let firstSampleFlags: number | undefined;
        if (flags & 0x4) {
          firstSampleFlags = this.buffer.readUInt32BE(offset);
          offset += 4;
        }
        for (let index = 0; index < count; index++) {
          let duration = defaultDuration;
          let sampleFlags = index === 0 && firstSampleFlags !== undefined ? firstSampleFlags : defaultFlags;
          if (flags & 0x100) {
            duration = this.buffer.readUInt32BE(offset);
            offset += 4;
          }
          if (flags & 0x200) offset += 4; // sample_size
          if (flags & 0x400) {
            sampleFlags = this.buffer.readUInt32BE(offset);
            offset += 4;
          }
          if (flags & 0x800) offset += 4; // composition time offset
          ticks += duration;
          firstFlags ??= sampleFlags;
        }
      }
    });
    if (!track) return undefined;
    return { durationS: ticks / track.timescale, independent: firstFlags !== undefined && (firstFlags & SAMPLE_IS_NON_SYNC) === 0, video: track.video };
  }
}
