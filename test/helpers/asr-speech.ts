// Generated test speech for the ASR tests and benchmark: flite or espeak-ng voices, known sentence intervals, optional noise.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { wordErrors } from '../../transforms/subtitles/word-error-rate.js';

/** Everyday sentences for the WER sets: ten of them, 71 words. */
export const ASR_SENTENCES = [
  'Please open the window in the kitchen.',
  'My brother bought seven apples yesterday.',
  'The weather today is cold and windy.',
  'We will meet at the station tomorrow morning.',
  'She reads a book every night before bed.',
  'The train leaves in twenty minutes.',
  'Turn left at the next traffic light.',
  'I would like a cup of hot coffee.',
  'The children are playing in the garden.',
  'Can you call me back after lunch?',
];

/** The noisy set: pink noise at this amplitude is about 20 dB below the voice (−42 dBFS RMS against −21.5). */
export const NOISY_SET = { noiseAmplitude: 0.04, noiseColor: 'pink' } as const;

/** A melody of held sine notes (no speech) for the "music makes no words" checks. */
export const SYNTHETIC_MUSIC =
  'aevalsrc=0.15*sin(2*PI*220*pow(2\\,floor(mod(t*4\\,8))/4)*t)+0.1*sin(2*PI*330*pow(2\\,floor(mod(t*2\\,5))/5)*t)+0.1*sin(2*PI*110*t)*lt(mod(t\\,0.5)\\,0.1):s=16000';

export interface SpokenSentence {
  text: string;
  /** Where the sentence's audio sits in the generated file. */
  startMs: number;
  endMs: number;
}

export interface SpeechFixture {
  /** 16 kHz mono WAV. */
  file: string;
  /** The same audio as raw samples. */
  pcm: Int16Array;
  sentences: SpokenSentence[];
  durationMs: number;
}

/** flite's four English voices (kal is an 8 kHz diphone voice) and espeak-ng's American English. */
export const SPEECH_VOICES = ['kal', 'awb', 'rms', 'slt', 'espeak-ng'] as const;
export type SpeechVoice = (typeof SPEECH_VOICES)[number];

export interface SpeechOptions {
  /** Who speaks (default flite's rms). */
  voice?: SpeechVoice;
  /** Silence before the first sentence. */
  leadSilenceMs?: number;
  /** Silence between sentences (and after the last). */
  gapMs?: number;
  /** Pauses drawn evenly from [min, max] ms instead of gapMs, the same draws for the same gapSeed. */
  gapRangeMs?: readonly [number, number];
  gapSeed?: number;
  /** Noise at this RMS level (dBFS, full-scale square wave = 0) instead of noiseAmplitude. */
  noiseDbfs?: number;
  /** White noise mixed over everything, as an amplitude 0..1 (0.03 ≈ 18 dB below the voice's peaks). */
  noiseAmplitude?: number;
  /** ffmpeg anoisesrc colour: white, pink, brown, … (default white). */
  noiseColor?: string;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr}`))));
  });
}

function runFfmpeg(args: string[]): Promise<void> {
  return run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args]);
}

/** Writes `text` spoken by `voice` to `wav`. */
export function synthesize(voice: SpeechVoice, text: string, wav: string): Promise<void> {
  if (voice === 'espeak-ng') return run('espeak-ng', ['-v', 'en-us', '-w', wav, text]);
  return run('flite', ['-voice', voice, '-t', text, '-o', wav]);
}

const noiseLevelAtFullAmplitude = new Map<string, Promise<number>>();

/** RMS level (dB) of ffmpeg's anoisesrc of this colour at amplitude 1; the level scales with the amplitude. */
function fullAmplitudeNoiseDb(color: string): Promise<number> {
  let level = noiseLevelAtFullAmplitude.get(color);
  if (!level) {
    level = new Promise((resolve, reject) => {
      const child = spawn('ffmpeg', ['-hide_banner', '-nostats', '-f', 'lavfi', '-i', `anoisesrc=color=${color}:amplitude=1:r=16000:seed=7:d=20`, '-af', 'astats=measure_perchannel=none:measure_overall=RMS_level', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => {
        const match = /RMS level dB: (-?[\d.]+)/.exec(stderr);
        if (match) resolve(Number(match[1]));
        else reject(new Error(`ffmpeg measured no noise level: ${stderr.slice(-500)}`));
      });
    });
    noiseLevelAtFullAmplitude.set(color, level);
  }
  return level;
}

/** Evenly spread draws in [0, 1) from a seed (a small LCG: the same seed gives the same pauses on every machine). */
function seededDraws(seed: number): () => number {
  let state = (seed >>> 0) || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Some seconds of an ffmpeg lavfi source (after leadMs of silence) as 16 kHz mono PCM. */
export async function makeSignal(dir: string, name: string, source: string, seconds: number, leadMs = 1000): Promise<Int16Array> {
  const file = path.join(dir, `${name}.wav`);
  const totalSeconds = (leadMs / 1000 + seconds).toFixed(3);
  // "-t 0" would mean no limit to ffmpeg: a source of silence would then fill the disk.
  const lead = leadMs > 0 ? ['-f', 'lavfi', '-t', (leadMs / 1000).toFixed(3), '-i', 'anullsrc=r=16000:cl=mono'] : [];
  const graph = leadMs > 0
    ? '[0]aformat=sample_rates=16000:channel_layouts=mono[a];[1]aresample=16000,aformat=sample_rates=16000:channel_layouts=mono[b];[a][b]concat=n=2:v=0:a=1[out]'
    : '[0]aresample=16000,aformat=sample_rates=16000:channel_layouts=mono[out]';
  await runFfmpeg([...lead, '-f', 'lavfi', '-t', String(seconds), '-i', source, '-filter_complex', graph, '-map', '[out]', '-t', totalSeconds, '-c:a', 'pcm_s16le', file]);
  return decodePcm(file, dir);
}

/** Raw s16le 16 kHz mono of any audio file. */
export async function decodePcm(file: string, dir: string): Promise<Int16Array> {
  const raw = path.join(dir, `${path.basename(file)}.s16le`);
  await runFfmpeg(['-i', file, '-ac', '1', '-ar', '16000', '-f', 's16le', raw]);
  const bytes = await readFile(raw);
  return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * Speaks the sentences (flite's rms voice unless told), one file each, and concatenates them with
 * ffmpeg around silences of known length (optionally under noise), so each sentence's interval is known.
 */
export async function makeSpeech(dir: string, name: string, sentences: string[], options: SpeechOptions = {}): Promise<SpeechFixture> {
  const leadMs = options.leadSilenceMs ?? 1000;
  const draw = seededDraws(options.gapSeed ?? 1);
  const range = options.gapRangeMs;
  // Whole milliseconds, so the silences ffmpeg makes are exactly as long as the intervals say.
  const gaps = sentences.map(() => (range ? Math.round(range[0] + draw() * (range[1] - range[0])) : options.gapMs ?? 1500));
  const parts: string[] = [];
  const spoken: SpokenSentence[] = [];
  let cursorMs = leadMs;
  for (const [index, text] of sentences.entries()) {
    const wav = path.join(dir, `${name}-${index}.wav`);
    await synthesize(options.voice ?? 'rms', text, wav);
    // Resampled to exactly 16 kHz so sample counts give the interval.
    const pcm = await decodePcm(wav, dir);
    const durationMs = (pcm.length / 16000) * 1000;
    spoken.push({ text, startMs: cursorMs, endMs: cursorMs + durationMs });
    cursorMs += durationMs + gaps[index]!;
    parts.push(wav);
  }
  const durationMs = cursorMs;
  const inputs: string[] = [];
  const labels: string[] = [];
  const silence = (ms: number): void => {
    if (ms <= 0) return;
    inputs.push('-f', 'lavfi', '-t', (ms / 1000).toFixed(4), '-i', 'anullsrc=r=16000:cl=mono');
    labels.push(`[${labels.length}]`);
  };
  silence(leadMs);
  for (const [index, wav] of parts.entries()) {
    inputs.push('-i', wav);
    labels.push(`[${labels.length}]`);
    silence(gaps[index]!);
  }
  const resample = labels.map((label, index) => `${label}aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono[p${index}]`).join(';');
  let graph = `${resample};${labels.map((_, index) => `[p${index}]`).join('')}concat=n=${labels.length}:v=0:a=1[speech]`;
  const color = options.noiseColor ?? 'white';
  const amplitude = options.noiseDbfs !== undefined ? 10 ** ((options.noiseDbfs - (await fullAmplitudeNoiseDb(color))) / 20) : options.noiseAmplitude;
  if (amplitude) {
    graph += `;anoisesrc=color=${color}:amplitude=${amplitude.toFixed(6)}:r=16000:seed=7:d=${(durationMs / 1000).toFixed(3)}[noise];[speech][noise]amix=inputs=2:duration=first:normalize=0[out]`;
  } else {
    graph += ';[speech]anull[out]';
  }
  const file = path.join(dir, `${name}.wav`);
  // The output's length is bounded too: an unbounded lavfi source must never run on.
  await runFfmpeg([...inputs, '-filter_complex', graph, '-map', '[out]', '-t', (durationMs / 1000).toFixed(3), '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', file]);
  return { file, pcm: await decodePcm(file, dir), sentences: spoken, durationMs };
}

/** Lower case, no punctuation, numbers as the words a recogniser writes. */
export function normaliseWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(/\s+/)
    .filter((word) => word !== '');
}

/** Word error rate: word-level edit distance (substitutions + insertions + deletions) over the reference length, words compared as given. */
export function wordErrorRate(reference: string[], hypothesis: string[]): number {
  return wordErrors(reference, hypothesis).rate;
}
