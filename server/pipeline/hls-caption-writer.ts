import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LiveCue } from './live-captioner.js';
import { cueTimestamp } from '../../transforms/subtitles/transcript-formats.js';

/** Cues kept after they ended, for the segments still to be written. */
const KEEP_MS = 30_000;

export const MASTER_PLAYLIST = 'master.m3u8';

/** Which HLS flavour a captions rendition goes with: its file names, the video's clock and how long a segment waits for words. */
export interface CaptionsFlavour {
  /** The captions media playlist (`<name>.m3u8`) and its segments (`<name>-N.vtt`). */
  name: string;
  /** The multivariant playlist that offers `variant` with the captions. */
  master: string;
  /** The video's media playlist. */
  variant: string;
  /** The video's timestamp (90 kHz) at the timeline's 0, for X-TIMESTAMP-MAP. */
  mpegTsTicks: number;
  /** A segment is written this long after its interval ended, so the words said in it have been recognised. */
  writeLagMs: number;
  /** EXT-X-PROGRAM-DATE-TIME on each segment, for a video playlist that has it too (players line the two up by it). */
  programDateTime: boolean;
  /**
   * Segments the playlist names before they are written (the server holds a request for one until it is).
   * An LL-HLS player plays within a second of live, ahead of the newest written segment, and hls.js loads no
   * subtitles until the rendition's playlist reaches past the playing position: listed ahead, it always does.
   */
  listAhead: number;
}

/** Plain HLS (`index.m3u8`): ffmpeg's MPEG-TS muxer starts at 1.4 s; 2.5 s of lag lets the recogniser's finals settle the words first. */
export const PLAIN_HLS_CAPTIONS: CaptionsFlavour = { name: 'captions', master: MASTER_PLAYLIST, variant: 'index.m3u8', mpegTsTicks: 126_000, writeLagMs: 2500, programDateTime: false, listAhead: 0 };

/**
 * LL-HLS (`ll.m3u8`): the fMP4 timeline starts at 0. An LL-HLS player plays about a second behind live,
 * so a segment is written 0.5 s after its interval (it may hold a partial reading the final later corrected), and
 * the playlist names the next two before they exist, so it always reaches past the player's position.
 */
export const LOW_LATENCY_HLS_CAPTIONS: CaptionsFlavour = { name: 'll-captions', master: 'll-master.m3u8', variant: 'll.m3u8', mpegTsTicks: 0, writeLagMs: 500, programDateTime: true, listAhead: 2 };

/** Writes a file so a reader never sees it half-written. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/**
 * The captions as an HLS subtitles rendition beside the video: WebVTT segments on the video's timeline
 * (X-TIMESTAMP-MAP ties them to its clock), a sliding media playlist (`captions.m3u8`) and a master
 * playlist (`master.m3u8`) that offers the video (`index.m3u8`) with them; the flavour names them
 * (`LOW_LATENCY_HLS_CAPTIONS`: `ll-captions.m3u8`, `ll-master.m3u8` offering `ll.m3u8`). Segments are written once, a little late.
 */
export class HlsCaptionWriter {
  private readonly cues = new Map<number, LiveCue>();
  /** Cues some segment already holds. */
  private readonly writtenIds = new Set<number>();
  /** Epoch ms of the video timeline's 0 (the first keyframe the HLS muxer got). */
  private originMs: number | undefined;
  private nextSegment = 0;
  private readonly written: number[] = [];
  /** Epoch ms each written segment starts at. */
  private readonly segmentStartMs = new Map<number, number>();
  private firstNumber = 0;
  private readonly timer: NodeJS.Timeout;
  private isClosed = false;

  private readonly flavour: CaptionsFlavour;

  constructor(
    private readonly options: { dir: string; segmentS: number; listSize: number; bandwidth: number; flavour?: CaptionsFlavour },
  ) {
    this.flavour = options.flavour ?? PLAIN_HLS_CAPTIONS;
    this.timer = setInterval(() => this.tick(Date.now()), 250);
    this.timer.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The video timeline (re)started at `originMs`: segments count from there. */
  setOrigin(originMs: number): void {
    if (this.originMs === originMs) return;
    this.originMs = originMs;
    // Numbers keep rising across restarts, like the video's, so players never see one reused (nor one listed ahead).
    const last = this.written[this.written.length - 1];
    this.firstNumber = Math.max(Math.floor(Date.now() / 1000), last === undefined ? 0 : last + 1 + this.flavour.listAhead);
    this.nextSegment = 0;
  }

  cue(cue: LiveCue): void {
    if (cue.lines.length > 0) this.cues.set(cue.id, cue);
    else if (this.cues.delete(cue.id)) this.writtenIds.delete(cue.id);
  }

  /** Writes every segment whose interval ended the flavour's write lag ago. */
  tick(nowMs: number): void {
    if (this.isClosed || this.originMs === undefined) return;
    const segmentMs = this.options.segmentS * 1000;
    const lagMs = this.flavour.writeLagMs;
    // After a stall (or a clock jump) only the segments a player can still ask for are worth writing.
    const due = Math.floor((nowMs - lagMs - this.originMs) / segmentMs);
    if (due - this.nextSegment > this.options.listSize) this.nextSegment = due - this.options.listSize;
    let wrote = false;
    while (this.originMs + (this.nextSegment + 1) * segmentMs + lagMs <= nowMs) {
      this.writeSegment(this.nextSegment, segmentMs);
      this.nextSegment++;
      wrote = true;
    }
    if (!wrote) return;
    for (const [id, cue] of this.cues) {
      if (cue.endMs >= nowMs - KEEP_MS) continue;
      this.cues.delete(id);
      this.writtenIds.delete(id);
    }
    this.writePlaylists();
  }

  /** Stops writing; `withdraw` also removes the playlists (captions were switched off, the stream goes on). Idempotent. */
  close(withdraw = false): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.timer);
    if (!withdraw) return;
    for (const file of [this.flavour.master, `${this.flavour.name}.m3u8`, ...this.written.map((number) => this.segmentName(number))]) {
      rmSync(path.join(this.options.dir, file), { force: true });
    }
  }

  private writeSegment(index: number, segmentMs: number): void {
    const origin = this.originMs!;
    const from = origin + index * segmentMs;
    const to = from + segmentMs;
    const blocks: string[] = [];
    for (const cue of [...this.cues.values()].sort((a, b) => a.id - b.id)) {
      // A cue recognised after the segments of its time were written (a loaded machine) goes into this one, so no words are lost.
      const late = cue.startMs < from && !this.writtenIds.has(cue.id);
      if (!late && (cue.endMs <= from || cue.startMs >= to)) continue;
      this.writtenIds.add(cue.id);
      blocks.push(`${cueTimestamp(cue.startMs - origin, '.')} --> ${cueTimestamp(cue.endMs - origin, '.')}\n${cue.lines.join('\n')}\n`);
    }
    const number = this.firstNumber + index;
    const text = `WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:${this.flavour.mpegTsTicks},LOCAL:00:00:00.000\n\n${blocks.join('\n')}`;
    writeAtomically(path.join(this.options.dir, this.segmentName(number)), text);
    this.written.push(number);
    this.segmentStartMs.set(number, from);
    while (this.written.length > this.options.listSize + 2) {
      const gone = this.written.shift()!;
      this.segmentStartMs.delete(gone);
      rmSync(path.join(this.options.dir, this.segmentName(gone)), { force: true });
    }
  }

  private masterWritten = false;

  private writePlaylists(): void {
    const listed = this.written.slice(-this.options.listSize).map((number) => ({ number, startMs: this.segmentStartMs.get(number) }));
    const segmentMs = this.options.segmentS * 1000;
    for (let ahead = 0; ahead < this.flavour.listAhead; ahead++) {
      const index = this.nextSegment + ahead;
      listed.push({ number: this.firstNumber + index, startMs: this.originMs! + index * segmentMs });
    }
    const duration = this.options.segmentS.toFixed(3);
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${Math.ceil(this.options.segmentS)}`, `#EXT-X-MEDIA-SEQUENCE:${listed[0]?.number ?? 0}`];
    for (const { number, startMs } of listed) {
      if (this.flavour.programDateTime && startMs !== undefined) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(startMs).toISOString()}`);
      lines.push(`#EXTINF:${duration},`, this.segmentName(number));
    }
    writeAtomically(path.join(this.options.dir, `${this.flavour.name}.m3u8`), `${lines.join('\n')}\n`);
    // The master playlist never changes: written once, after the first captions playlist exists.
    if (this.masterWritten) return;
    this.masterWritten = true;
    const master = [
      '#EXTM3U',
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="captions",NAME="Live captions",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="${this.flavour.name}.m3u8"`,
      `#EXT-X-STREAM-INF:BANDWIDTH=${this.options.bandwidth},SUBTITLES="captions"`,
      this.flavour.variant,
    ];
    writeAtomically(path.join(this.options.dir, this.flavour.master), `${master.join('\n')}\n`);
  }

  private segmentName(number: number): string {
    return `${this.flavour.name}-${number}.vtt`;
  }
}
