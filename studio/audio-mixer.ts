import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FfmpegRunner } from '../core/process/process-runner.js';
import { bedExpression, isMusicBed } from './audio-beds.js';

/** Loudness target of every studio output (streaming platforms' norm). */
export const TARGET_LUFS = -14;
/** True-peak ceiling given to loudnorm: below −1 dBTP with room for the AAC encoder's overshoot. */
export const TARGET_TRUE_PEAK = -1.5;
const TARGET_LRA = 20;
const SAMPLE_RATE = 48_000;

/** One shot's own sound, placed on the timeline. */
export interface ShotAudio {
  /** A WAV of the shot's source range (its transition handle included). */
  file: string;
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
  /** A built-in bed's name or an audio file's path. */
  music?: { track: string; file?: string; gainDb: number; duck: boolean };
  workDir: string;
  signal: AbortSignal;
}

export interface LoudnessMeasurement {
  input_i: string;
  input_tp: string;
  input_lra: string;
  input_thresh: string;
  target_offset: string;
}

/** flite's voices (ffmpeg's libflite source); "default" is kal. */
const VOICES: Record<string, string> = { default: 'kal', kal: 'kal', kal16: 'kal16', awb: 'awb', rms: 'rms', slt: 'slt', male: 'kal', female: 'slt' };
const DECLICK_S = 0.02;

export class AudioMixError extends Error {
  override readonly name = 'AudioMixError';
}

/**
 * The audio of a render: each shot's source sound at its place (crossfaded over transitions), an
 * offline voice-over (flite inside ffmpeg), a music bed ducked under all speech by a real side-chain
 * compressor, mixed without normalizing; then measured so the final encode can hit −14 LUFS / −1 dBTP.
 */
export class AudioMixer {
  constructor(private readonly runner: FfmpegRunner) {}

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
      args.push('-i', shot.file);
      const fadeIn = Math.max(shot.fadeInS, DECLICK_S);
      const fadeOut = Math.max(shot.fadeOutS, DECLICK_S);
      const delayMs = Math.round(shot.atS * 1000);
      filters.push(`[${inputIndex}:a]${format},atrim=0:${shot.durationS.toFixed(6)},apad=whole_dur=${shot.durationS.toFixed(6)},afade=t=in:d=${fadeIn},afade=t=out:st=${(shot.durationS - fadeOut).toFixed(6)}:d=${fadeOut},adelay=${delayMs}|${delayMs}[shot${inputIndex}]`);
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
      if (input.music.file) args.push('-stream_loop', '-1', '-i', input.music.file);
      else if (isMusicBed(input.music.track)) args.push('-f', 'lavfi', '-t', duration, '-i', `aevalsrc=exprs='${bedExpression(input.music.track)}':s=${SAMPLE_RATE}:d=${duration}`);
      else throw new AudioMixError(`music track "${input.music.track}" is neither a built-in bed nor an audio asset`);
      const fadeOutAt = Math.max(0, input.durationS - 1.5).toFixed(6);
      filters.push(`[${inputIndex}:a]${format},atrim=0:${duration},volume=${input.music.gainDb}dB,afade=t=in:d=0.5,afade=t=out:st=${fadeOutAt}:d=1.5[music]`);
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
   * Brings the mix to the target loudness ahead of the final encode: measure, apply the gain with a
   * peak limiter below the ceiling (loudnorm's linear mode would otherwise hold the gain back to keep
   * the peaks), then measure again for the final, linear loudnorm pass. Returns the file to encode.
   */
  async level(mix: string, durationS: number, workDir: string, signal: AbortSignal): Promise<{ file: string; measured: LoudnessMeasurement | undefined }> {
    const first = await this.measure(mix, durationS, signal);
    if (!first) return { file: mix, measured: undefined };
    const gainDb = TARGET_LUFS - Number(first.input_i);
    const levelled = path.join(workDir, 'levelled.wav');
    const ceiling = 10 ** ((TARGET_TRUE_PEAK - 2) / 20);
    await this.runner.ffmpegRun(
      ['-y', '-i', mix, '-af', `volume=${gainDb.toFixed(2)}dB,alimiter=limit=${ceiling.toFixed(4)}:attack=2:release=60:level=0`, '-c:a', 'pcm_f32le', '-fflags', '+bitexact', '-flags:a', '+bitexact', levelled],
      signal,
      { stage: 'audio', inputS: durationS },
    );
    return { file: levelled, measured: await this.measure(levelled, durationS, signal) };
  }

  /** loudnorm's first pass over the mix; undefined for silence (nothing to normalize). */
  async measure(file: string, durationS: number, signal: AbortSignal): Promise<LoudnessMeasurement | undefined> {
    const stderr = await this.runner.ffmpegRun(['-i', file, '-af', `loudnorm=I=${TARGET_LUFS}:TP=${TARGET_TRUE_PEAK}:LRA=${TARGET_LRA}:print_format=json`, '-f', 'null', '-'], signal, { stage: 'audio', inputS: durationS });
    const json = /\{[^{}]*"input_i"[^{}]*\}/.exec(stderr)?.[0];
    if (!json) throw new AudioMixError('loudnorm printed no measurement');
    const measured = JSON.parse(json) as LoudnessMeasurement;
    const integrated = Number(measured.input_i);
    return Number.isFinite(integrated) && integrated > -70 ? measured : undefined;
  }
}

/** The second loudnorm pass, linear (one gain for the whole mix) where the measurement allows it. */
export function loudnormFilter(measured: LoudnessMeasurement | undefined): string {
  if (!measured) return 'anull';
  return `loudnorm=I=${TARGET_LUFS}:TP=${TARGET_TRUE_PEAK}:LRA=${TARGET_LRA}:measured_I=${measured.input_i}:measured_TP=${measured.input_tp}:measured_LRA=${measured.input_lra}:measured_thresh=${measured.input_thresh}:offset=${measured.target_offset}:linear=true,aresample=${SAMPLE_RATE}`;
}

/** A path inside a filter argument: only plain characters, since ':' '\\' and quotes have meaning there. */
export function filterPath(file: string): string {
  if (!/^[\w/.+-]+$/.test(file)) throw new AudioMixError(`the work path ${JSON.stringify(file)} has characters ffmpeg filter arguments cannot carry`);
  return file;
}
