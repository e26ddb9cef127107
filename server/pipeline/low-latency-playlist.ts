import { LivefxError } from '../../core/errors.js';

/** EXT-X-PART-INF PART-TARGET: no part is longer (the muxer cuts at LL_HLS_FRAGMENT_S, frames overshoot it by less than a frame at ≥ 25 fps). */
export const LL_HLS_PART_TARGET_S = 0.25;
/** ffmpeg's `-frag_duration`: a fragment (a part) ends at the first frame past it, or at a keyframe. */
export const LL_HLS_FRAGMENT_S = 0.2;
/** PART-HOLD-BACK: how far behind the newest part a player starts (the spec asks at least 2, recommends 3 part targets). */
const PART_HOLD_BACK_S = 3 * LL_HLS_PART_TARGET_S;
/** Parts a blocking request may ask ahead of the newest one (the spec's Advance Part Limit for part targets under 1 s). */
const ADVANCE_PART_LIMIT = 3;
/** Complete segments whose parts are still listed (the spec drops parts older than about three target durations). */
const SEGMENTS_WITH_PARTS = 3;

export const LL_PLAYLIST = 'll.m3u8';
/** The names a player fetches: the playlist, init segments, whole segments and parts. */
export const LL_HLS_FILE = /^(?:ll\.m3u8|ll-init-(\d{1,9})\.mp4|ll-(\d{1,15})\.m4s|ll-(\d{1,15})\.(\d{1,4})\.m4s)$/;

interface Part {
  bytes: Buffer;
  durationS: number;
  independent: boolean;
}

interface Segment {
  msn: number;
  mapId: number;
  /** The muxer restarted before this segment (a new init segment, a new timeline). */
  discontinuity: boolean;
  /** Epoch ms of its first frame, when the muxer's clock is known (EXT-X-PROGRAM-DATE-TIME). */
  startMs: number | undefined;
  parts: Part[];
  durationS: number;
  complete: boolean;
  /** The parts joined, made on the first request for the whole segment. */
  joined?: Buffer;
}

interface Waiter {
  ready: () => boolean;
  settle: (error?: Error) => void;
}

export interface LowLatencyPlaylistOptions {
  /** LIVEFX_HLS_SEGMENT_S: a segment ends at the first keyframe part after this long. */
  segmentS: number;
  /** Longest segment (EXT-X-TARGETDURATION, whole seconds): a segment with no keyframe in time is cut without one. */
  targetDurationS: number;
  /** LIVEFX_HLS_LIST_SIZE: complete segments kept and listed. */
  listSize: number;
}

/**
 * The LL-HLS media playlist of one stream, built in memory from the fMP4 parts the pipeline worker
 * hands over: the last `listSize` segments and their parts (bounded), the init segment(s) they refer to,
 * and the blocking playlist reload and preload-hint requests held until the part they wait for exists.
 */
export class LowLatencyPlaylist {
  private readonly segments: Segment[] = [];
  private readonly maps = new Map<number, Buffer>();
  private mapId = 0;
  private nextMsn = 0;
  private discontinuitySequence = 0;
  private pendingDiscontinuity = false;
  /** Epoch ms of the running muxer's time 0, and the media time written since. */
  private originMs: number | undefined;
  private elapsedS = 0;
  private rendered: string | undefined;
  private readonly waiters = new Set<Waiter>();
  private isClosed = false;

  constructor(private readonly options: LowLatencyPlaylistOptions) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * The muxer (re)started: parts from now on belong to this init segment, after a discontinuity.
   * With `originMs` (the epoch ms of its time 0) segments carry EXT-X-PROGRAM-DATE-TIME, which a player
   * lines the captions rendition up by.
   */
  setInit(bytes: Buffer, originMs?: number): void {
    if (this.isClosed) return;
    this.originMs = originMs;
    this.elapsedS = 0;
    this.mapId++;
    this.maps.set(this.mapId, bytes);
    const open = this.openSegment;
    if (open) this.complete(open);
    this.pendingDiscontinuity = this.segments.length > 0;
  }

  addPart(bytes: Buffer, durationS: number, independent: boolean): void {
    if (this.isClosed || this.mapId === 0) return;
    let segment = this.openSegment;
    const due = segment !== undefined && independent && segment.durationS >= this.options.segmentS - LL_HLS_PART_TARGET_S / 2;
    // EXTINF rounded to the nearest second must not pass the target duration.
    const tooLong = segment !== undefined && segment.durationS + durationS >= this.options.targetDurationS + 0.5;
    if (!segment || due || tooLong) {
      if (segment) this.complete(segment);
      const startMs = this.originMs === undefined ? undefined : Math.round(this.originMs + this.elapsedS * 1000);
      segment = { msn: this.nextMsn++, mapId: this.mapId, discontinuity: this.pendingDiscontinuity, startMs, parts: [], durationS: 0, complete: false };
      this.pendingDiscontinuity = false;
      this.segments.push(segment);
      this.trim();
    }
    segment.parts.push({ bytes, durationS, independent });
    segment.durationS += durationS;
    this.elapsedS += durationS;
    this.rendered = undefined;
    this.wake();
  }

  /**
   * The playlist text; with `msn` (and `part`), held until it lists that segment (part), as
   * `_HLS_msn`/`_HLS_part` ask. Values the spec calls bad are refused at once (400 `invalid_query`);
   * a wait past three target durations ends with 503 `hls_wait_timeout`.
   */
  async playlist(msn?: number, part?: number): Promise<string> {
    if (part !== undefined && msn === undefined) throw new LivefxError('invalid_query', '_HLS_part needs _HLS_msn');
    const newest = this.newestPart;
    if (!newest) throw this.notReady();
    if (msn !== undefined) {
      if (msn > newest.msn + 2) throw new LivefxError('invalid_query', `_HLS_msn=${msn} is more than two segments past the newest (${newest.msn})`);
      // Part p of a later segment is at least p + 1 parts away.
      const partsAhead = part === undefined ? 0 : msn === newest.msn ? part - newest.part : msn > newest.msn ? part + 1 : 0;
      if (partsAhead > ADVANCE_PART_LIMIT) {
        throw new LivefxError('invalid_query', `_HLS_part=${part} is more than ${ADVANCE_PART_LIMIT} parts past the newest (${newest.msn}.${newest.part})`);
      }
      await this.waitUntil(() => {
        const latest = this.newestPart!;
        return latest.msn > msn || (part !== undefined && latest.msn === msn && latest.part >= part);
      }, `${msn}${part === undefined ? '' : `.${part}`}`);
    }
    this.rendered ??= this.render();
    return this.rendered;
  }

  /** A part's bytes; the next part (the preload hint) is waited for. Undefined when it is gone or never came. */
  async part(msn: number, index: number): Promise<Buffer | undefined> {
    const segment = this.segment(msn);
    const existing = segment?.parts[index];
    if (existing) return existing.bytes;
    const newest = this.newestPart;
    const open = this.openSegment !== undefined;
    const upcoming =
      newest !== undefined &&
      ((open && msn === newest.msn && index > newest.part && index <= newest.part + ADVANCE_PART_LIMIT) || (!open && msn === newest.msn + 1 && index === 0));
    if (!upcoming) return undefined;
    // Ready when the part exists, or when it no longer can (its segment ended without it).
    await this.waitUntil(() => this.segment(msn)?.parts[index] !== undefined || this.newestPart!.msn > msn || this.segment(msn)?.complete === true, `${msn}.${index}`);
    return this.segment(msn)?.parts[index]?.bytes;
  }

  /** A complete segment's bytes (its parts joined). */
  segmentBytes(msn: number): Buffer | undefined {
    const segment = this.segment(msn);
    if (!segment?.complete) return undefined;
    segment.joined ??= Buffer.concat(segment.parts.map((part) => part.bytes));
    return segment.joined;
  }

  initBytes(id: number): Buffer | undefined {
    return this.maps.get(id);
  }

  /** The stream ended: waiting requests are answered `not_ready`, memory is freed. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.segments.length = 0;
    this.maps.clear();
    for (const waiter of this.waiters) waiter.settle(this.notReady());
    this.waiters.clear();
  }

  private get openSegment(): Segment | undefined {
    const last = this.segments.at(-1);
    return last && !last.complete ? last : undefined;
  }

  private get newestPart(): { msn: number; part: number } | undefined {
    const last = this.segments.at(-1);
    return last ? { msn: last.msn, part: last.parts.length - 1 } : undefined;
  }

  private segment(msn: number): Segment | undefined {
    const first = this.segments[0];
    return first ? this.segments[msn - first.msn] : undefined;
  }

  private complete(segment: Segment): void {
    segment.complete = true;
    this.rendered = undefined;
  }

  /** Keeps `listSize` complete segments (plus the open one) and the init segments they use. */
  private trim(): void {
    while (this.segments.length > this.options.listSize + 1) {
      const gone = this.segments.shift()!;
      if (gone.discontinuity) this.discontinuitySequence++;
    }
    const used = new Set(this.segments.map((segment) => segment.mapId));
    for (const id of this.maps.keys()) if (id !== this.mapId && !used.has(id)) this.maps.delete(id);
  }

  private notReady(): LivefxError {
    return new LivefxError('not_ready', this.isClosed ? 'the stream has ended' : 'the LL-HLS playlist has no part yet');
  }

  private waitUntil(ready: () => boolean, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    if (this.isClosed) return Promise.reject(this.notReady());
    const timeoutS = 3 * this.options.targetDurationS;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        ready,
        settle: (error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          if (error) reject(error);
          else resolve();
        },
      };
      const timer = setTimeout(() => waiter.settle(new LivefxError('hls_wait_timeout', `part ${what} did not appear within ${timeoutS} s (three target durations)`)), timeoutS * 1000);
      this.waiters.add(waiter);
    });
  }

  private wake(): void {
    for (const waiter of this.waiters) if (waiter.ready()) waiter.settle();
  }

  private render(): string {
    const first = this.segments[0]!;
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      `#EXT-X-TARGETDURATION:${this.options.targetDurationS}`,
      `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${seconds(PART_HOLD_BACK_S)}`,
      `#EXT-X-PART-INF:PART-TARGET=${seconds(LL_HLS_PART_TARGET_S)}`,
      `#EXT-X-MEDIA-SEQUENCE:${first.msn}`,
      `#EXT-X-DISCONTINUITY-SEQUENCE:${this.discontinuitySequence}`,
    ];
    const completeCount = this.segments.filter((segment) => segment.complete).length;
    let mapId = 0;
    this.segments.forEach((segment, index) => {
      if (segment.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
      if (segment.mapId !== mapId) {
        mapId = segment.mapId;
        lines.push(`#EXT-X-MAP:URI="ll-init-${mapId}.mp4"`);
      }
      if (segment.startMs !== undefined) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.startMs).toISOString()}`);
      if (!segment.complete || index >= completeCount - SEGMENTS_WITH_PARTS) {
        segment.parts.forEach((part, partIndex) => {
          lines.push(`#EXT-X-PART:DURATION=${seconds(part.durationS)},URI="ll-${segment.msn}.${partIndex}.m4s"${part.independent ? ',INDEPENDENT=YES' : ''}`);
        });
      }
      if (segment.complete) lines.push(`#EXTINF:${seconds(segment.durationS)},`, `ll-${segment.msn}.m4s`);
    });
    const newest = this.newestPart!;
    const hinted = this.openSegment ? `ll-${newest.msn}.${newest.part + 1}.m4s` : `ll-${newest.msn + 1}.0.m4s`;
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${hinted}"`, '');
    return lines.join('\n');
  }
}

function seconds(value: number): string {
  return value.toFixed(5);
}
