import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../core/config.js';
import { LivefxServer } from '../../server/livefx-server.js';
import { type ChildProcessInfo, processesMentioning } from '../faults/fault-server.js';
import { runFfmpeg } from './ffmpeg-fixtures.js';
import { ADMIN_TOKEN } from './livefx-process.js';
import type { StoryboardStore } from '../../studio/ports.js';
import type { Storyboard, StoryboardBody } from '../../studio/storyboard.js';

/** A silent in-process server on a free port with the admin token, `env` on top, and `store` as its storyboards when given. */
export function studioServer(dataDir: string, env: Record<string, string> = {}, store?: StoryboardStore): LivefxServer {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
  return new LivefxServer({ config, log: pino({ level: 'silent' }), ...(store ? { parts: { storyboards: store } } : {}) });
}

/** studioServer, started; with its URL. */
export async function startStudioServer(dataDir: string, env: Record<string, string>, store?: StoryboardStore): Promise<{ server: LivefxServer; url: string }> {
  const server = studioServer(dataDir, env, store);
  const { url } = await server.start();
  return { server, url };
}

/** Imports a media file (with its events, none by default) into the server's recorder; returns the recording id. */
export async function importRecording(server: LivefxServer, media: string, events: { events: unknown[] } = { events: [] }): Promise<string> {
  return (await server.recorder.importer.import({ media, events: events as any })).id;
}

/** For afterAll: closes the server (when one started) and removes the scratch folder. */
export async function closeStudio(server: LivefxServer | undefined, scratch: string): Promise<void> {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
}

/**
 * A script in `dir` that runs `program` (ffmpeg or ffprobe), except that a run whose arguments contain
 * the text in `patternFile` (written with a text no run has) hangs, named `<program>-hanging <arguments>`
 * so processesMentioning finds it. Returns the script's path.
 */
export async function hangingProgram(dir: string, program: 'ffmpeg' | 'ffprobe', patternFile: string): Promise<string> {
  await writeFile(patternFile, 'no-such-argument-ever');
  const script = path.join(dir, `${program}-hanging`);
  await writeFile(script, `#!/bin/bash\npattern=$(cat ${patternFile})\ncase "$*" in *"$pattern"*) exec -a "${program}-hanging $*" sleep 600;; esac\nexec ${program} "$@"\n`);
  await chmod(script, 0o755);
  return script;
}

/**
 * The processes of one test's server that mention its data dir; with `hanging`, only the runs that
 * hangingProgram made hang. Other test files hang their own runs at the same time: a bare
 * `ffmpeg-hanging` would find theirs too.
 */
export async function processesOf(dataDir: string, hanging?: 'ffmpeg' | 'ffprobe'): Promise<ChildProcessInfo[]> {
  const found = await processesMentioning(dataDir);
  return hanging ? found.filter((info) => info.cmdline.includes(`${hanging}-hanging`)) : found;
}

/** A storyboard body: what `fields` leaves out is a 16:9 board with seed 7, no captions and no music, as long as its shots. */
export function storyboardBody(fields: Pick<StoryboardBody, 'prompt' | 'style' | 'shots'> & Partial<StoryboardBody>): StoryboardBody {
  const last = fields.shots[fields.shots.length - 1];
  return { aspect: '16:9', duration_s: last ? last.start + last.duration : 0, seed: 7, captions: false, ...fields };
}

/** What flite says in the studio source and where (transcript-word events follow it). */
export const STUDIO_SPEECH = [
  { at: 2, text: 'Welcome to the garden hour everyone.' },
  { at: 12, text: 'These tomatoes grew all summer long.' },
  { at: 24, text: 'Next weekend we plan the new beds.' },
];

export const STUDIO_SOURCE_S = 36;

/**
 * A 36 s 1280×720 30 fps H.264/AAC recording: a moving test pattern, a quiet tone and flite speech at
 * STUDIO_SPEECH times. Returns the file and its transcript as import events (each word spread evenly
 * over its sentence's spoken length).
 */
export async function makeStudioSource(dir: string): Promise<{ file: string; events: { events: unknown[] } }> {
  const events: unknown[] = [];
  const wavs: string[] = [];
  for (const [index, spoken] of STUDIO_SPEECH.entries()) {
    const wav = path.join(dir, `studio-speech-${index}.wav`);
    const result = spawnSync('flite', ['-voice', 'kal', '-t', spoken.text, '-o', wav], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`flite failed: ${result.stderr}`);
    const seconds = Number(spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', wav], { encoding: 'utf8' }).stdout.trim());
    const words = spoken.text.replace(/[.,]/g, '').split(' ');
    words.forEach((word, wordIndex) => {
      const t = spoken.at + (seconds * wordIndex) / words.length;
      events.push({ t: Math.round(t * 1000) / 1000, type: 'transcript-word', word, end: Math.round((t + (seconds / words.length) * 0.9) * 1000) / 1000 });
    });
    wavs.push(wav);
  }
  const file = path.join(dir, 'studio-source.mp4');
  const inputs = ['-f', 'lavfi', '-i', `testsrc2=s=1280x720:r=30:d=${STUDIO_SOURCE_S}`, '-f', 'lavfi', '-i', `sine=f=220:sample_rate=48000:d=${STUDIO_SOURCE_S}`];
  for (const wav of wavs) inputs.push('-i', wav);
  const speech = STUDIO_SPEECH.map((spoken, index) => `[${2 + index}]aresample=48000,adelay=${spoken.at * 1000}:all=1[s${index}]`).join(';');
  const mix = `[1]volume=0.05[tone];${speech};[tone]${STUDIO_SPEECH.map((_, index) => `[s${index}]`).join('')}amix=inputs=${STUDIO_SPEECH.length + 1}:normalize=0:duration=first[a]`;
  await runFfmpeg(['-y', ...inputs, '-filter_complex', mix, '-map', '0:v', '-map', '[a]', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-t', String(STUDIO_SOURCE_S), file]);
  return { file, events: { events } };
}

/** A PNG image asset (a colour chart), written where the server keeps uploaded images. */
export async function makeStudioImage(file: string): Promise<void> {
  await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'smptehdbars=s=1280x720', '-frames:v', '1', file]);
}

/** A minimal in-memory storyboard store (the planner's SQLite store replaces it in the server). */
export class MemoryStoryboardStore implements StoryboardStore {
  private readonly boards = new Map<string, Storyboard>();

  async create(body: StoryboardBody, provenance: Storyboard['provenance']): Promise<Storyboard> {
    const now = '2026-12-06T00:00:00.000Z';
    const storyboard: Storyboard = { ...body, id: randomUUID(), provenance, created_at: now, updated_at: now };
    this.boards.set(storyboard.id, storyboard);
    return storyboard;
  }

  async get(id: string): Promise<Storyboard | undefined> {
    return this.boards.get(id);
  }

  async list(): Promise<Storyboard[]> {
    return [...this.boards.values()].reverse();
  }

  async replace(id: string, body: StoryboardBody): Promise<Storyboard | undefined> {
    const old = this.boards.get(id);
    if (!old) return undefined;
    const updated = { ...old, ...body, updated_at: new Date(Date.parse(old.updated_at) + 1000).toISOString() };
    this.boards.set(id, updated);
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    return this.boards.delete(id);
  }
}

export const testProvenance = (prompt: string): Storyboard['provenance'] => ({ planner: 'test', prompt, seed: 7, sources: [], asset_ids: [], planned_at: '2026-12-06T00:00:00.000Z' });

/** A 4-shot storyboard over the source: a title card, two clips and an image, 15 s. */
export function fourShotStoryboard(recordingId: string, overrides: Partial<StoryboardBody> = {}): StoryboardBody {
  return storyboardBody({
    prompt: '15s recap of the garden hour, warm look',
    style: 'warm',
    captions: true,
    shots: [
      { index: 0, start: 0, duration: 3, kind: 'title', text: 'The Garden Hour', reasons: ['title'] },
      { index: 1, start: 3, duration: 4, kind: 'clip', source: { recording_id: recordingId, in: 11.5, out: 15.5 }, camera: 'push-in', transition: { name: 'fade', duration: 0.6 }, text: 'Tomatoes', reasons: ["transcript: 'tomatoes'"] },
      { index: 2, start: 7, duration: 5, kind: 'clip', source: { recording_id: recordingId, in: 23.5, out: 28.5 }, camera: 'pan-right', transition: { name: 'wipe', duration: 0.5 }, reasons: ["transcript: 'weekend plans'"] },
      { index: 3, start: 12, duration: 3, kind: 'image', source: { asset_id: 'chart.png' }, camera: 'pull-out', transition: { name: 'slide', duration: 0.4 }, text: 'See you next week', reasons: ['end card'] },
    ],
    music: { track: 'uplift', gain_db: -12, duck: true },
    ...overrides,
  });
}
