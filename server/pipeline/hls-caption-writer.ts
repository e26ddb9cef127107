import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LiveCue } from './live-captioner.js';
import { cueTimestamp } from '../../transforms/subtitles/transcript-formats.js';

/** ffmpeg's MPEG-TS muxer starts a stream whose first timestamp is 0 at 1.4 s (90 kHz clock), as the HLS segments do. */
const MPEGTS_OFFSET_TICKS = 126_000;
/** A segment is written this long after its interval ended, so the words said in it have been recognised. */
const WRITE_LAG_MS = 2500;
/** Cues kept after they ended, for the segments still to be written. */
const KEEP_MS = 30_000;

export const CAPTIONS_PLAYLIST = 'captions.m3u8';
export const MASTER_PLAYLIST = 'master.m3u8';

/** Writes a file so a reader never sees it half-written. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/**
 * The captions as an HLS subtitles rendition beside the video: WebVTT segments on the video's timeline
 * (X-TIMESTAMP-MAP ties them to its MPEG-TS clock), a sliding media playlist `captions.m3u8` and a master
 * playlist `master.m3u8` that offers `index.m3u8` with them. Segments are written once, a little late.
 */
export class HlsCaptionWriter {
  private readonly cues = new Map<number, LiveCue>();
  /** Epoch ms of the video timeline's 0 (the first keyframe the HLS muxer got). */
  private originMs: number | undefined;
  private nextSegment = 0;
  private readonly written: number[] = [];
  private firstNumber = 0;
  private readonly timer: NodeJS.Timeout;
  private isClosed = false;

  constructor(
    private readonly options: { dir: string; segmentS: number; listSize: number; bandwidth: number },
  ) {
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
    // Numbers keep rising across restarts, like the video's, so players never see one reused.
    const last = this.written[this.written.length - 1];
    this.firstNumber = Math.max(Math.floor(Date.now() / 1000), last === undefined ? 0 : last + 1);
    this.nextSegment = 0;
  }

  cue(cue: LiveCue): void {
    if (cue.lines.length === 0) this.cues.delete(cue.id);
    else this.cues.set(cue.id, cue);
  }

  /** Writes every segment whose interval ended WRITE_LAG_MS ago. */
  tick(nowMs: number): void {
    if (this.isClosed || this.originMs === undefined) return;
    const segmentMs = this.options.segmentS * 1000;
    // After a stall (or a clock jump) only the segments a player can still ask for are worth writing.
    const due = Math.floor((nowMs - WRITE_LAG_MS - this.originMs) / segmentMs);
    if (due - this.nextSegment > this.options.listSize) this.nextSegment = due - this.options.listSize;
    let wrote = false;
    while (this.originMs + (this.nextSegment + 1) * segmentMs + WRITE_LAG_MS <= nowMs) {
      this.writeSegment(this.nextSegment, segmentMs);
      this.nextSegment++;
      wrote = true;
    }
    if (!wrote) return;
    for (const [id, cue] of this.cues) if (cue.endMs < nowMs - KEEP_MS) this.cues.delete(id);
    this.writePlaylists();
  }

  /** Stops writing; `withdraw` also removes the playlists (captions were switched off, the stream goes on). Idempotent. */
  close(withdraw = false): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.timer);
    if (!withdraw) return;
    for (const file of [MASTER_PLAYLIST, CAPTIONS_PLAYLIST, ...this.written.map((number) => `captions-${number}.vtt`)]) {
      rmSync(path.join(this.options.dir, file), { force: true });
    }
  }

  private writeSegment(index: number, segmentMs: number): void {
    const origin = this.originMs!;
    const from = origin + index * segmentMs;
    const to = from + segmentMs;
    const blocks: string[] = [];
    for (const cue of [...this.cues.values()].sort((a, b) => a.id - b.id)) {
      if (cue.endMs <= from || cue.startMs >= to) continue;
      blocks.push(`${cueTimestamp(cue.startMs - origin, '.')} --> ${cueTimestamp(cue.endMs - origin, '.')}\n${cue.lines.join('\n')}\n`);
    }
    const number = this.firstNumber + index;
    const text = `WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:${MPEGTS_OFFSET_TICKS},LOCAL:00:00:00.000\n\n${blocks.join('\n')}`;
    writeAtomically(path.join(this.options.dir, `captions-${number}.vtt`), text);
    this.written.push(number);
    while (this.written.length > this.options.listSize + 2) {
      rmSync(path.join(this.options.dir, `captions-${this.written.shift()!}.vtt`), { force: true });
    }
  }

  private masterWritten = false;

  private writePlaylists(): void {
    const listed = this.written.slice(-this.options.listSize);
    const duration = this.options.segmentS.toFixed(3);
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${Math.ceil(this.options.segmentS)}`, `#EXT-X-MEDIA-SEQUENCE:${listed[0] ?? 0}`];
    for (const number of listed) lines.push(`#EXTINF:${duration},`, `captions-${number}.vtt`);
    writeAtomically(path.join(this.options.dir, CAPTIONS_PLAYLIST), `${lines.join('\n')}\n`);
    // The master playlist never changes: written once, after the first captions playlist exists.
    if (this.masterWritten) return;
    this.masterWritten = true;
    const master = [
      '#EXTM3U',
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="captions",NAME="Live captions",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="${CAPTIONS_PLAYLIST}"`,
      `#EXT-X-STREAM-INF:BANDWIDTH=${this.options.bandwidth},SUBTITLES="captions"`,
      'index.m3u8',
    ];
    writeAtomically(path.join(this.options.dir, MASTER_PLAYLIST), `${master.join('\n')}\n`);
  }
}
