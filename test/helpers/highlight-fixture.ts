import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg } from './ffmpeg-fixtures.js';

/** Scene cuts of the synthetic show (seconds). */
export const SCENE_CUTS = [25, 50, 56, 80];
/** Black picture and no sound: the planted dead air. */
export const DEAD_AIR: [number, number] = [50, 56];
export const SHOW_S = 100;
/** Where many different people chat and react. */
export const PEAKS = [20, 70];
/** One user sending 60 messages. */
export const SPAM_AT = 45;

interface Spoken {
  at: number;
  text: string;
}

/** What flite says and where (the transcript-word events match it). */
export const SPEECH: Spoken[] = [
  { at: 14, text: 'What a goal, that was amazing.' },
  { at: 30, text: 'Now the second half begins.' },
  { at: 64, text: 'Giveaway time everyone, join in now.' },
  { at: 85, text: 'Thanks for watching, see you tomorrow.' },
];

/**
 * A 100 s, 320×180, 15 fps H.264/AAC show with five scenes (testsrc2, mandelbrot, black, testsrc, smptebars)
 * cut at SCENE_CUTS, a quiet tone (about −28 dBFS) under everything but the black scene, flite speech at SPEECH times,
 * and keyframes every second (plus x264's own at cuts).
 */
export async function makeHighlightShow(dir: string): Promise<string> {
  const wavs: string[] = [];
  for (const [index, spoken] of SPEECH.entries()) {
    const wav = path.join(dir, `speech-${index}.wav`);
    const result = spawnSync('flite', ['-voice', 'rms', '-t', spoken.text, '-o', wav], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`flite failed: ${result.stderr}`);
    wavs.push(wav);
  }
  const file = path.join(dir, 'show.mp4');
  const size = '320x180';
  const scenes = [
    `testsrc2=s=${size}:r=15:d=25`,
    `mandelbrot=s=${size}:r=15:maxiter=200`,
    `color=c=black:s=${size}:r=15:d=6`,
    `testsrc=s=${size}:r=15:d=24`,
    `smptebars=s=${size}:r=15:d=20`,
  ];
  const inputs: string[] = [];
  for (const scene of scenes) inputs.push('-f', 'lavfi', '-i', scene);
  inputs.push('-f', 'lavfi', '-i', `sine=f=300:sample_rate=44100:d=${SHOW_S}`);
  for (const wav of wavs) inputs.push('-i', wav);
  const audioIndex = scenes.length;
  const speech = SPEECH.map((spoken, index) => `[${audioIndex + 1 + index}]aresample=44100,adelay=${spoken.at * 1000}:all=1[s${index}]`).join(';');
  const filter = [
    `[1]trim=duration=25,setpts=PTS-STARTPTS[zoom]`,
    `[0][zoom][2][3][4]concat=n=5:v=1:a=0,format=yuv420p[v]`,
    `[${audioIndex}]volume=0.3,volume=enable='between(t,${DEAD_AIR[0]},${DEAD_AIR[1]})':volume=0[tone]`,
    speech,
    `[tone]${SPEECH.map((_, index) => `[s${index}]`).join('')}amix=inputs=${SPEECH.length + 1}:normalize=0:duration=first[a]`,
  ].join(';');
  await runFfmpeg([
    ...inputs,
    '-filter_complex',
    filter,
    '-map',
    '[v]',
    '-map',
    '[a]',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '15',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-t',
    String(SHOW_S),
    file,
  ]);
  return file;
}

/** One event of a generated show, as the highlights import takes it. */
export type ShowEvent =
  | { t: number; type: 'chat'; user: string; text: string }
  | { t: number; type: 'reaction'; user: string; kind: string }
  | { t: number; type: 'viewers'; count: number }
  | { t: number; type: 'transcript-word'; word: string; end: number; conf: number };

/** The events JSON of the show: background chat, the two planted peaks, the spam decoy, viewer counts and the transcript. */
export function highlightShowEvents(): { events: ShowEvent[] } {
  const events: ShowEvent[] = [];
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  // Background: one of four regulars every 7 s.
  for (let t = 2; t < SHOW_S; t += 7) events.push({ t, type: 'chat', user: `regular-${Math.round(t) % 4}`, text: 'hi' });
  for (const [peakIndex, peak] of PEAKS.entries()) {
    const people = peakIndex === 0 ? 14 : 12;
    for (let person = 0; person < people; person++) {
      const t = round(peak - 1.5 + (person * 3) / people);
      events.push({ t, type: 'chat', user: `fan-${peakIndex}-${person}`, text: 'wow!' });
      if (person % 3 === 0) events.push({ t: round(t + 0.7), type: 'chat', user: `fan-${peakIndex}-${person}`, text: 'again!' });
    }
    for (let reaction = 0; reaction < 30; reaction++) events.push({ t: round(peak - 1 + (reaction * 3) / 30), type: 'reaction', user: `fan-${peakIndex}-${reaction % people}`, kind: 'fire' });
  }
  for (let message = 0; message < 60; message++) events.push({ t: round(SPAM_AT - 2 + (message * 4) / 60), type: 'chat', user: 'spammer', text: 'BUY FOLLOWERS' });
  events.push({ t: 0, type: 'viewers', count: 10 }, { t: 68, type: 'viewers', count: 22 }, { t: 90, type: 'viewers', count: 15 });
  for (const spoken of SPEECH) {
    const words = spoken.text.split(' ');
    words.forEach((word, index) => {
      const start = round(spoken.at + index * 0.4);
      events.push({ t: start, type: 'transcript-word', word, end: round(start + 0.35), conf: 0.9 });
    });
  }
  events.sort((a, b) => a.t - b.t);
  return { events };
}

export async function writeHighlightShowEvents(file: string): Promise<void> {
  await writeFile(file, JSON.stringify(highlightShowEvents()));
}
