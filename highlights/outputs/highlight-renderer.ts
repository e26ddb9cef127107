import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sentence } from '../analysis/transcript-sentences.js';
import type { FfmpegRunner } from '../ffmpeg-runner.js';
import { cueTimestamp } from '../../transforms/subtitles/transcript-formats.js';

export interface Chapter {
  start: number;
  end: number;
  title: string;
}

/**
 * The outputs of a highlights job. Preview: stream-copy clip cuts (starting on the keyframe the plan
 * chose) and a concat-demuxer reel. Final: frame-exact x264 clips (captions burned in on request) and
 * a crossfaded reel. Both: JPEG thumbnails, WebVTT sidecars, MP4 chapter markers in the reel, and
 * provenance in the MP4 `comment` tag and as `<file>.provenance.json`.
 */
export class HighlightRenderer {
  constructor(private readonly runner: FfmpegRunner) {}

  /** Cuts [start, start+duration) by stream copy; `start` must be a keyframe time. Resolves to the cut's real duration. */
  async cut(media: string, start: number, durationS: number, output: string, comment: string, signal: AbortSignal): Promise<number> {
    const temporary = `${output}.partial.mp4`;
    try {
      await this.runner.ffmpegRun(
        ['-v', 'error', '-y', '-ss', start.toFixed(3), '-i', media, '-t', durationS.toFixed(3), '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy', '-avoid_negative_ts', 'make_zero', '-metadata', `comment=${comment}`, '-movflags', '+faststart', temporary],
        signal,
        { stage: `cutting ${path.basename(output)}`, inputS: durationS },
      );
      await rename(temporary, output);
    } finally {
      // A failed or cancelled cut leaves no partial file behind.
      await rm(temporary, { force: true });
    }
    return this.runner.durationS(output, signal, `cutting ${path.basename(output)}`);
  }

  /** Final quality: a frame-exact x264 re-encode of [start, start+duration), with the WebVTT burned in when given. Resolves to its duration. */
  async encode(media: string, start: number, durationS: number, output: string, comment: string, burnCaptions: string | null, signal: AbortSignal): Promise<number> {
    const temporary = `${output}.partial.mp4`;
    const filters = ['format=yuv420p'];
    if (burnCaptions) filters.push(`subtitles=filename='${burnCaptions.replace(/[\\':]/g, (character) => `\\${character}`)}':force_style='Fontsize=22,Outline=2'`);
    try {
      await this.runner.ffmpegRun(
        ['-v', 'error', '-y', '-ss', start.toFixed(3), '-i', media, '-t', durationS.toFixed(3), '-map', '0:v:0', '-map', '0:a:0?', '-vf', filters.join(','), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-c:a', 'aac', '-b:a', '128k', '-metadata', `comment=${comment}`, '-movflags', '+faststart', temporary],
        signal,
        { stage: `encoding ${path.basename(output)}`, inputS: durationS },
      );
      await rename(temporary, output);
    } finally {
      // A failed or cancelled cut leaves no partial file behind.
      await rm(temporary, { force: true });
    }
    return this.runner.durationS(output, signal, `encoding ${path.basename(output)}`);
  }

  /** Final quality: the clips joined with short crossfades (xfade/acrossfade, re-encoded), one chapter per clip. Resolves to the reel's duration. */
  async crossfadeReel(clips: readonly { file: string; title: string; durationS: number }[], fadeS: number, hasAudio: boolean, output: string, comment: string, signal: AbortSignal): Promise<number> {
    if (clips.length === 1) return this.reel(clips, output, comment, signal);
    const metadata = `${output}.ffmetadata`;
    const lines = [';FFMETADATA1'];
    let offset = 0;
    const videoSteps: string[] = [];
    const audioSteps: string[] = [];
    for (const [index, clip] of clips.entries()) {
      // Each clip after the first starts fadeS earlier, overlapping the one before.
      const start = index === 0 ? 0 : offset - fadeS;
      const end = start + clip.durationS;
      lines.push('[CHAPTER]', 'TIMEBASE=1/1000', `START=${Math.round(start * 1000)}`, `END=${Math.round((index === clips.length - 1 ? end : end - fadeS) * 1000)}`, `title=${escapeMetadata(clip.title)}`);
      if (index > 0) {
        const previousVideo = index === 1 ? '[0:v]' : `[v${index - 1}]`;
        const previousAudio = index === 1 ? '[0:a]' : `[a${index - 1}]`;
        videoSteps.push(`${previousVideo}[${index}:v]xfade=transition=fade:duration=${fadeS}:offset=${start.toFixed(3)}[v${index}]`);
        audioSteps.push(`${previousAudio}[${index}:a]acrossfade=d=${fadeS}[a${index}]`);
      }
      offset = end;
    }
    await writeFile(metadata, `${lines.join('\n')}\n`);
    const last = clips.length - 1;
    const graph = [...videoSteps, ...(hasAudio ? audioSteps : [])].join(';');
    const inputs = clips.flatMap((clip) => ['-i', clip.file]);
    const temporary = `${output}.partial.mp4`;
    try {
      await this.runner.ffmpegRun(
        ['-v', 'error', '-y', ...inputs, '-i', metadata, '-filter_complex', graph, '-map', `[v${last}]`, ...(hasAudio ? ['-map', `[a${last}]`] : []), '-map_metadata', String(clips.length), '-map_chapters', String(clips.length), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-c:a', 'aac', '-b:a', '128k', '-metadata', `comment=${comment}`, '-movflags', '+faststart', temporary],
        signal,
        { stage: 'reel (crossfades)', inputS: offset },
      );
      await rename(temporary, output);
    } finally {
      await Promise.all([rm(metadata, { force: true }), rm(temporary, { force: true })]);
    }
    return this.runner.durationS(output, signal, 'reel');
  }

  /** One frame at `t`, 320 px wide. */
  async thumbnail(media: string, t: number, output: string, signal: AbortSignal): Promise<void> {
    await this.runner.ffmpegRun(['-v', 'error', '-y', '-ss', t.toFixed(3), '-i', media, '-frames:v', '1', '-vf', 'scale=320:-2', '-q:v', '4', output], signal, { stage: `thumbnail ${path.basename(output)}` });
  }

  /** Joins clips (all cut from one source, so codecs match) and writes one chapter per clip. Resolves to the reel's duration. */
  async reel(clips: readonly { file: string; title: string; durationS: number }[], output: string, comment: string, signal: AbortSignal): Promise<number> {
    const list = `${output}.ffconcat`;
    const metadata = `${output}.ffmetadata`;
    await writeFile(list, `ffconcat version 1.0\n${clips.map((clip) => `file '${path.basename(clip.file)}'`).join('\n')}\n`);
    const lines = [';FFMETADATA1'];
    let offset = 0;
    for (const clip of clips) {
      lines.push('[CHAPTER]', 'TIMEBASE=1/1000', `START=${Math.round(offset * 1000)}`, `END=${Math.round((offset + clip.durationS) * 1000)}`, `title=${escapeMetadata(clip.title)}`);
      offset += clip.durationS;
    }
    await writeFile(metadata, `${lines.join('\n')}\n`);
    const temporary = `${output}.partial.mp4`;
    try {
      await this.runner.ffmpegRun(
        ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-i', metadata, '-map', '0', '-map_metadata', '1', '-map_chapters', '1', '-c', 'copy', '-metadata', `comment=${comment}`, '-movflags', '+faststart', temporary],
        signal,
        { stage: 'reel', inputS: offset },
      );
      await rename(temporary, output);
    } finally {
      await Promise.all([rm(list, { force: true }), rm(metadata, { force: true }), rm(temporary, { force: true })]);
    }
    return this.runner.durationS(output, signal, 'reel');
  }

  /** WebVTT of the sentences inside [start, end], timed from the clip's start. Null when none fall inside. */
  async captions(sentences: readonly Sentence[], start: number, end: number, output: string): Promise<boolean> {
    const cues = sentences.filter((sentence) => sentence.end > start && sentence.start < end);
    if (cues.length === 0) return false;
    const body = cues.map((sentence) => `${cueTimestamp((sentence.start - start) * 1000, '.')} --> ${cueTimestamp((Math.min(end, sentence.end) - start) * 1000, '.')}\n${sentence.text}`);
    await writeFile(output, `WEBVTT\n\n${body.join('\n\n')}\n`);
    return true;
  }

  static async writeProvenance(file: string, provenance: Record<string, unknown>): Promise<void> {
    await writeFile(`${file}.provenance.json`, `${JSON.stringify({ ...provenance, file: path.basename(file) }, null, 2)}\n`);
  }

  /** The chapters as an ffmetadata file, for `-map_chapters` when the full recording is exported. */
  static chapterMetadata(chapters: readonly Chapter[]): string {
    const lines = [';FFMETADATA1'];
    for (const chapter of chapters) lines.push('[CHAPTER]', 'TIMEBASE=1/1000', `START=${Math.round(chapter.start * 1000)}`, `END=${Math.round(chapter.end * 1000)}`, `title=${escapeMetadata(chapter.title)}`);
    return `${lines.join('\n')}\n`;
  }

  /** "00:00 Title" per line (hours shown when needed), as video platforms read chapter lists. */
  static chapterList(chapters: readonly Chapter[]): string {
    const long = chapters.some((chapter) => chapter.start >= 3600);
    return `${chapters.map((chapter) => `${clockTime(chapter.start, long)} ${chapter.title}`).join('\n')}\n`;
  }
}

function escapeMetadata(text: string): string {
  return text.replace(/[=;#\\\n]/g, (character) => (character === '\n' ? ' ' : `\\${character}`));
}

function clockTime(seconds: number, withHours: boolean): string {
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return withHours ? `${String(h).padStart(2, '0')}:${mm}` : mm;
}
