import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProcessRunner } from '../core/process/process-runner.js';
import { bedExpression, isMusicBed } from './audio-beds.js';

/** Loudness target of every studio output (streaming platforms' norm). */
export const TARGET_LUFS = -14;
/** True-peak target: below −1 dBTP with room for the AAC encoder's overshoot. */
export const TARGET_TRUE_PEAK = -1.5;
const SAMPLE_RATE = 48_000;

/** One shot's own sound, placed on the timeline. */
export interface ShotAudio {
  /** The shot's source media; its range is read straight from it (no intermediate file per shot). */
  file: string;
  /** Where the range starts in the source (seconds). */
  inS: number;
  atS: number;
  durationS: number;
  /** Crossfade lengths with the shots around it (0: a short de-click fade). */
  fadeInS: number;
  fadeOutS: number;
}

export interface AudioMixInput {
  durationS: number;
  shots: ShotAudio[];
  voiceover?: { text: string; voice: string };
  /** `file`: an uploaded track (looped), or a built-in bed made by synthesizeBed. */
  music?: { track: string; file: string; gainDb: number; duck: boolean };
  workDir: string;
  signal: AbortSignal;
}

/** flite's voices (ffmpeg's libflite source); "default" is kal. */
const VOICES: Record<string, string> = { default: 'kal', kal: 'kal', kal16: 'kal16', awb: 'awb', rms: 'rms', slt: 'slt', male: 'kal', female: 'slt' };
const DECLICK_S = 0.02;
/** Most corrections of the gain through the limiter (each an ebur128 pass over the mix). */
const LEVEL_ATTEMPTS = 3;

export class AudioMixError extends Error {
  override readonly name = 'AudioMixError';
}

/**
 * The audio of a render: each shot's source sound at its place (crossfaded over transitions), an
 * offline voice-over (flite inside ffmpeg), a music bed ducked under all speech by a real side-chain
 * compressor, mixed without normalizing; then measured so the final encode hits −14 LUFS / −1 dBTP.
 */
export class AudioMixer {
  constructor(private readonly runner: ProcessRunner) {}

  /** Writes the un-normalized mix (float WAV, stereo 48 kHz) and returns its path. */
  async mix(input: AudioMixInput): Promise<string> {
    const out = path.join(input.workDir, 'mix.wav');
    const args: string[] = [];
    const filters: string[] = [];
    const format = `aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=stereo`;
    const duration = input.durationS.toFixed(6);
    let inputIndex = 0;
    const speechParts: string[] = [];
    for (const shot of input.shots) {
      // Seeking before -i is exact for audio (decoded from the packet before and cut to the sample).
      args.push('-ss', shot.inS.toFixed(6), '-t', shot.durationS.toFixed(6), '-i', shot.file);
      const fadeIn = Math.max(shot.fadeInS, DECLICK_S);
      const fadeOut = Math.max(shot.fadeOutS, DECLICK_S);
      const delayMs = Math.round(shot.atS * 1000);
      filters.push(`[${inputIndex}:a:0]${format},atrim=0:${shot.durationS.toFixed(6)},apad=whole_dur=${shot.durationS.toFixed(6)},afade=t=in:d=${fadeIn},afade=t=out:st=${(shot.durationS - fadeOut).toFixed(6)}:d=${fadeOut},adelay=${delayMs}|${delayMs}[shot${inputIndex}]`);
      speechParts.push(`[shot${inputIndex}]`);
      inputIndex++;
    }
    if (input.voiceover) {
      const textFile = path.join(input.workDir, 'voiceover.txt');
      await writeFile(textFile, input.voiceover.text);
      const voice = VOICES[input.voiceover.voice] ?? 'kal';
      args.push('-f', 'lavfi', '-i', `flite=textfile=${filterPath(textFile)}:voice=${voice}`);
      // The voice starts just after the first frame, like a presenter taking a breath.
      filters.push(`[${inputIndex}:a]${format},adelay=300|300[voice]`);
      speechParts.push('[voice]');
      inputIndex++;
    }
    // Silence under everything, so the speech bus always exists and lasts the whole video.
    args.push('-f', 'lavfi', '-t', duration, '-i', `anullsrc=r=${SAMPLE_RATE}:cl=stereo`);
    filters.push(`[${inputIndex}:a]${format}[floor]`);
    speechParts.push('[floor]');
    inputIndex++;
    filters.push(`${speechParts.join('')}amix=inputs=${speechParts.length}:normalize=0:duration=longest,atrim=0:${duration}[speechbus]`);
    if (input.music) {
      args.push('-stream_loop', '-1', '-i', input.music.file);
      const fadeOutAt = Math.max(0, input.durationS - 1.5).toFixed(6);
      filters.push(`[${inputIndex}:a:0]${format},atrim=0:${duration},volume=${input.music.gainDb}dB,afade=t=in:d=0.5,afade=t=out:st=${fadeOutAt}:d=1.5[music]`);
      if (input.music.duck) {
        filters.push('[speechbus]asplit=2[speech][key]');
        // Music drops by up to ~20 dB while anyone speaks and comes back within half a second.
        filters.push('[music][key]sidechaincompress=threshold=0.01:ratio=12:attack=10:release=400:knee=2[ducked]');
        filters.push(`[speech][ducked]amix=inputs=2:normalize=0:duration=first,atrim=0:${duration}[mix]`);
      } else {
        filters.push(`[speechbus][music]amix=inputs=2:normalize=0:duration=first,atrim=0:${duration}[mix]`);
      }
    } else {
      filters.push('[speechbus]anull[mix]');
    }
    await this.runner.ffmpegRun(
      ['-y', ...args, '-filter_complex', filters.join(';'), '-map', '[mix]', '-c:a', 'pcm_f32le', '-ar', String(SAMPLE_RATE), '-fflags', '+bitexact', '-flags:a', '+bitexact', out],
      input.signal,
      { stage: 'audio', inputS: input.durationS },
    );
    return out;
  }

  /**
   * A built-in bed `durationS` long as a float WAV: synthesized sample by sample (about a second of
   * CPU for 30 s), so the compositor keeps it in its cache for every later mix of the same length.
   */
  async synthesizeBed(bed: string, durationS: number, out: string, signal: AbortSignal): Promise<void> {
    if (!isMusicBed(bed)) throw new AudioMixError(`music track "${bed}" is not a built-in bed`);
    const duration = durationS.toFixed(6);
    await this.runner.ffmpegRun(
      ['-y', '-f', 'lavfi', '-t', duration, '-i', `aevalsrc=exprs='${bedExpression(bed)}':s=${SAMPLE_RATE}:d=${duration}`, '-c:a', 'pcm_f32le', '-fflags', '+bitexact', '-flags:a', '+bitexact', out],
      signal,
      { stage: 'audio', inputS: durationS },
    );
  }

  /**
   * How to bring the mix to the target loudness in the final encode: a gain ahead of a look-ahead
   * limiter whose ceiling keeps the true peak under −1 dBTP after AAC. The limiter takes some loudness
   * off loud mixes, so the gain is measured through the limiter (ebur128) and corrected until it lands
   * within 0.3 LU. "anull" for silence.
   */
  async levelFilter(mix: string, durationS: number, signal: AbortSignal): Promise<string> {
    const ceiling = 10 ** ((TARGET_TRUE_PEAK - 2) / 20);
    const filter = (gainDb: number): string => `volume=${gainDb.toFixed(2)}dB,alimiter=limit=${ceiling.toFixed(4)}:attack=2:release=60:level=0:latency=1`;
    let integrated = await this.loudness(mix, 'anull', durationS, signal);
    if (integrated <= -69) return 'anull';
    let gainDb = TARGET_LUFS - integrated;
    for (let attempt = 0; attempt < LEVEL_ATTEMPTS; attempt++) {
      integrated = await this.loudness(mix, filter(gainDb), durationS, signal);
      if (Math.abs(integrated - TARGET_LUFS) <= 0.3) break;
      gainDb += TARGET_LUFS - integrated;
    }
    return filter(gainDb);
  }

  /**
   * The finished audio track: the mix through its level filter, AAC in an MP4, so the stitch copies
   * it beside the video instead of encoding while it stitches (and a picture-only variant reuses it).
   */
  async encode(track: { mix: string; levelFilter: string; bitrate: string; preview: boolean; out: string; durationS: number; signal: AbortSignal }): Promise<void> {
    const { mix, levelFilter, bitrate, out, durationS, signal } = track;
    // A preview takes the fast AAC coder (less than half the CPU of the default two-loop search).
    const coder = track.preview ? ['-aac_coder', 'fast'] : [];
    await this.runner.ffmpegRun(
      ['-y', '-i', mix, '-af', levelFilter, '-c:a', 'aac', ...coder, '-b:a', bitrate, '-ar', String(SAMPLE_RATE), '-ac', '2', '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:a', '+bitexact', '-f', 'mp4', out],
      signal,
      { stage: 'audio', inputS: durationS },
    );
  }

  /** Integrated loudness (LUFS) of a file through a filter, by ffmpeg's ebur128. */
  private async loudness(file: string, filter: string, durationS: number, signal: AbortSignal): Promise<number> {
    const stderr = await this.runner.ffmpegRun(['-i', file, '-af', `${filter},ebur128=framelog=verbose`, '-f', 'null', '-'], signal, { stage: 'audio', inputS: durationS });
    const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
    const integrated = Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1]);
    if (!Number.isFinite(integrated)) throw new AudioMixError('ebur128 printed no integrated loudness');
    return integrated;
  }
}

/** A path inside a filter argument: only plain characters, since ':' '\\' and quotes have meaning there. */
export function filterPath(file: string): string {
  if (!/^[\w/.+-]+$/.test(file)) throw new AudioMixError(`the work path ${JSON.stringify(file)} has characters ffmpeg filter arguments cannot carry`);
  return file;
}
