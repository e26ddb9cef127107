import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sentence } from '../analysis/transcript-sentences.js';
import type { ProcessRunner } from '../../core/process/process-runner.js';
import type { ClipTimeline } from './clip-timeline.js';
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
  constructor(private readonly runner: ProcessRunner) {}

  /** Cuts [start, start+duration) by stream copy; `start` must be a keyframe time. Resolves to the cut's real duration. */
  async cut(media: string, start: number, durationS: number, output: string, comment: string, signal: AbortSignal): Promise<number> {
    await this.writeMp4(['-v', 'error', '-y', '-ss', start.toFixed(3), '-i', media, '-t', durationS.toFixed(3), '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy', '-avoid_negative_ts', 'make_zero'], output, comment, signal, { stage: `cutting ${path.basename(output)}`, inputS: durationS });
    return this.runner.durationS(output, signal, `cutting ${path.basename(output)}`);
  }

  /** Preview of a clip with gaps: each part cut by stream copy (each starts on a keyframe), then joined by the concat demuxer. Resolves to the joined duration. */
  async cutParts(media: string, timeline: ClipTimeline, output: string, comment: string, signal: AbortSignal): Promise<number> {
    const [first] = timeline.parts;
    if (timeline.parts.length === 1 && first) return this.cut(media, first[0], first[1] - first[0], output, comment, signal);
    const pieces = timeline.parts.map((_, index) => `${output}.part-${index}.mp4`);
    const list = `${output}.ffconcat`;
    try {
      for (const [index, [from, to]] of timeline.parts.entries()) await this.cut(media, from, to - from, pieces[index]!, comment, signal);
      await writeFile(list, `ffconcat version 1.0\n${pieces.map((piece) => `file '${path.basename(piece)}'`).join('\n')}\n`);
      await this.join(list, null, output, comment, signal, `joining ${path.basename(output)}`, timeline.durationS);
    } finally {
      await Promise.all([...pieces, list].map((file) => rm(file, { force: true })));
    }
    return this.runner.durationS(output, signal, `joining ${path.basename(output)}`);
  }

  /** Final quality of a clip with gaps: one x264 encode of the span, its parts trimmed frame-exactly and concatenated (captions burned in after). */
  async encodeParts(media: string, timeline: ClipTimeline, hasAudio: boolean, output: string, comment: string, burnCaptions: string | null, signal: AbortSignal): Promise<number> {
    if (timeline.parts.length === 1) return this.encode(media, timeline.start, timeline.end - timeline.start, output, comment, burnCaptions, signal);
    const count = timeline.parts.length;
    const steps = [`[0:v]split=${count}${timeline.parts.map((_, index) => `[vs${index}]`).join('')}`];
    if (hasAudio) steps.push(`[0:a]asplit=${count}${timeline.parts.map((_, index) => `[as${index}]`).join('')}`);
    timeline.parts.forEach(([from, to], index) => {
      // Times relative to the input seek (-ss at the span's start).
      const a = (from - timeline.start).toFixed(3);
      const b = (to - timeline.start).toFixed(3);
      steps.push(`[vs${index}]trim=start=${a}:end=${b},setpts=PTS-STARTPTS[v${index}]`);
      if (hasAudio) steps.push(`[as${index}]atrim=start=${a}:end=${b},asetpts=PTS-STARTPTS[a${index}]`);
    });
    const joined = timeline.parts.map((_, index) => (hasAudio ? `[v${index}][a${index}]` : `[v${index}]`)).join('');
    const videoFilters = ['format=yuv420p'];
    if (burnCaptions) videoFilters.push(subtitlesFilter(burnCaptions));
    steps.push(`${joined}concat=n=${count}:v=1:a=${hasAudio ? 1 : 0}${hasAudio ? '[vj][aj]' : '[vj]'}`, `[vj]${videoFilters.join(',')}[vout]`);
    await this.writeMp4(['-v', 'error', '-y', '-ss', timeline.start.toFixed(3), '-i', media, '-t', (timeline.end - timeline.start).toFixed(3), '-filter_complex', steps.join(';'), '-map', '[vout]', ...(hasAudio ? ['-map', '[aj]'] : []), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-c:a', 'aac', '-b:a', '128k'], output, comment, signal, { stage: `encoding ${path.basename(output)}`, inputS: timeline.end - timeline.start });
    return this.runner.durationS(output, signal, `encoding ${path.basename(output)}`);
  }

  /** Final quality: a frame-exact x264 re-encode of [start, start+duration), with the WebVTT burned in when given. Resolves to its duration. */
  async encode(media: string, start: number, durationS: number, output: string, comment: string, burnCaptions: string | null, signal: AbortSignal): Promise<number> {
    const filters = ['format=yuv420p'];
    if (burnCaptions) filters.push(subtitlesFilter(burnCaptions));
    await this.writeMp4(['-v', 'error', '-y', '-ss', start.toFixed(3), '-i', media, '-t', durationS.toFixed(3), '-map', '0:v:0', '-map', '0:a:0?', '-vf', filters.join(','), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-c:a', 'aac', '-b:a', '128k'], output, comment, signal, { stage: `encoding ${path.basename(output)}`, inputS: durationS });
    return this.runner.durationS(output, signal, `encoding ${path.basename(output)}`);
  }

  /** Final quality: the clips joined with short crossfades (xfade/acrossfade, re-encoded), one chapter per clip. Resolves to the reel's duration. */
  async crossfadeReel(clips: readonly { file: string; title: string; durationS: number }[], fadeS: number, hasAudio: boolean, output: string, comment: string, signal: AbortSignal): Promise<number> {
    if (clips.length === 1) return this.reel(clips, output, comment, signal);
    const metadata = `${output}.ffmetadata`;
    const chapters: Chapter[] = [];
    let offset = 0;
    const videoSteps: string[] = [];
    const audioSteps: string[] = [];
    for (const [index, clip] of clips.entries()) {
      // Each clip after the first starts fadeS earlier, overlapping the one before.
      const start = index === 0 ? 0 : offset - fadeS;
      const end = start + clip.durationS;
      chapters.push({ start, end: index === clips.length - 1 ? end : end - fadeS, title: clip.title });
      if (index > 0) {
        const previousVideo = index === 1 ? '[0:v]' : `[v${index - 1}]`;
        const previousAudio = index === 1 ? '[0:a]' : `[a${index - 1}]`;
        videoSteps.push(`${previousVideo}[${index}:v]xfade=transition=fade:duration=${fadeS}:offset=${start.toFixed(3)}[v${index}]`);
        audioSteps.push(`${previousAudio}[${index}:a]acrossfade=d=${fadeS}[a${index}]`);
      }
      offset = end;
    }
    await writeFile(metadata, HighlightRenderer.chapterMetadata(chapters));
    const last = clips.length - 1;
    const graph = [...videoSteps, ...(hasAudio ? audioSteps : [])].join(';');
    const inputs = clips.flatMap((clip) => ['-i', clip.file]);
    try {
      await this.writeMp4(['-v', 'error', '-y', ...inputs, '-i', metadata, '-filter_complex', graph, '-map', `[v${last}]`, ...(hasAudio ? ['-map', `[a${last}]`] : []), '-map_metadata', String(clips.length), '-map_chapters', String(clips.length), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-c:a', 'aac', '-b:a', '128k'], output, comment, signal, { stage: 'reel (crossfades)', inputS: offset });
    } finally {
      await rm(metadata, { force: true });
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
    const chapters: Chapter[] = [];
    let offset = 0;
    for (const clip of clips) {
      chapters.push({ start: offset, end: offset + clip.durationS, title: clip.title });
      offset += clip.durationS;
    }
    await writeFile(metadata, HighlightRenderer.chapterMetadata(chapters));
    try {
      await this.join(list, metadata, output, comment, signal, 'reel', offset);
    } finally {
      await Promise.all([rm(list, { force: true }), rm(metadata, { force: true })]);
    }
    return this.runner.durationS(output, signal, 'reel');
  }

  /** Stream-copies the files of a concat list into one MP4, with the chapters of an ffmetadata file when given. */
  private async join(list: string, metadata: string | null, output: string, comment: string, signal: AbortSignal, stage: string, inputS: number): Promise<void> {
    const chapters = metadata ? ['-i', metadata, '-map_metadata', '1', '-map_chapters', '1'] : [];
    await this.writeMp4(['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, ...chapters, '-map', '0', '-c', 'copy'], output, comment, signal, { stage, inputS });
  }

  /** Runs ffmpeg into `<output>.partial.mp4` (provenance comment, faststart) and renames it to `output` once whole: a failed or cancelled run leaves no partial file behind. */
  private async writeMp4(args: string[], output: string, comment: string, signal: AbortSignal, progress: { stage: string; inputS: number }): Promise<void> {
    const temporary = `${output}.partial.mp4`;
    try {
      await this.runner.ffmpegRun([...args, '-metadata', `comment=${comment}`, '-movflags', '+faststart', temporary], signal, progress);
      await rename(temporary, output);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  /** WebVTT of the sentences inside the clip, timed on the clip's clock (gaps removed). False when none fall inside. */
  async captions(sentences: readonly Sentence[], timeline: ClipTimeline, output: string): Promise<boolean> {
    const cues = sentences.filter((sentence) => sentence.end > timeline.start && sentence.start < timeline.end && timeline.toClip(sentence.end) > timeline.toClip(sentence.start));
    if (cues.length === 0) return false;
    const body = cues.map((sentence) => `${cueTimestamp(timeline.toClip(sentence.start) * 1000, '.')} --> ${cueTimestamp(timeline.toClip(Math.min(timeline.end, sentence.end)) * 1000, '.')}\n${sentence.text}`);
    await writeFile(output, `WEBVTT\n\n${body.join('\n\n')}\n`);
    return true;
  }

  static async writeProvenance(file: string, provenance: Record<string, unknown>): Promise<void> {
    await writeFile(`${file}.provenance.json`, `${JSON.stringify({ ...provenance, file: path.basename(file) }, null, 2)}\n`);
  }

  /** Chapters as an ffmetadata file (for `-map_chapters`): the reels' and the full recording export's. */
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

function subtitlesFilter(file: string): string {
  return `subtitles=filename='${file.replace(/[\\':]/g, (character) => `\\${character}`)}':force_style='Fontsize=22,Outline=2'`;
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
