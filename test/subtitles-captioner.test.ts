import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSpeech } from './helpers/asr-speech.js';
import { ffmpegChildren } from './helpers/livefx-process.js';
import { oggOpusPackets } from '../core/media/ogg-opus-packets.js';
import { LiveCaptioner, type LiveCue, type LiveWord } from '../server/pipeline/live-captioner.js';
import { CommandEngine } from '../transforms/subtitles/engines/command/command-engine.js';
import { FallbackAsrEngine, type AsrFallback } from '../transforms/subtitles/fallback-asr-engine.js';

const fakeEngine = fileURLToPath(new URL('./fixtures/fake-asr-engine.mjs', import.meta.url));
let dir: string;
/** 20 ms Opus packets of generated speech, as a WebRTC publisher sends them. */
let packets: Buffer[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livefx-captioner-'));
  const speech = await makeSpeech(dir, 'speech', ['Please bring your notes and a pen.'], { leadSilenceMs: 500, gapMs: 3000 });
  const ogg = path.join(dir, 'speech.ogg');
  const encoded = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', speech.file, '-ar', '48000', '-ac', '2', '-c:a', 'libopus', '-b:a', '48k', '-frame_duration', '20', ogg]);
  expect(encoded.status, encoded.stderr.toString()).toBe(0);
  packets = oggOpusPackets(await readFile(ogg));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function captioner(env: Record<string, string>) {
  const words: LiveWord[] = [];
  const cues: LiveCue[] = [];
  const gaps: { atMs: number; reason: string }[] = [];
  const shown: string[][] = [];
  const instance = new LiveCaptioner({
    ffmpegPath: 'ffmpeg',
    engine: new CommandEngine({ command: process.execPath, args: [fakeEngine], env }),
    restartBackoffMaxMs: 1000,
    onCue: (cue) => cues.push(cue),
    onWords: (batch) => words.push(...batch),
    onGap: (atMs, reason) => gaps.push({ atMs, reason }),
    onCrash: () => undefined,
    report: () => undefined,
    show: (lines) => shown.push([...lines]),
  });
  return { instance, words, cues, gaps, shown };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('live captioner (Opus in, captions out)', () => {
  it('decodes the Opus packets and puts the words on the packets\' capture clock', async () => {
    const script = [[{ word: 'bring', start: 1.0, end: 1.3 }, { word: 'notes', start: 1.5, end: 1.9 }]];
    const run = captioner({ FAKE_ASR_SCRIPT: JSON.stringify(script) });
    const baseMs = 1_700_000_000_000;
    // As fast as the pipe takes them: the clock comes from the capture times, not from arrival.
    packets.forEach((packet, index) => run.instance.pushOpus(packet, baseMs + index * 20));
    await expect.poll(() => run.words.length, { timeout: 10_000 }).toBe(2);
    expect(run.words.map((word) => word.word)).toEqual(['bring', 'notes']);
    expect(Math.abs(run.words[0]!.startMs - (baseMs + 1000))).toBeLessThan(40);
    expect(Math.abs(run.words[1]!.endMs - (baseMs + 1900))).toBeLessThan(40);
    expect(run.cues.some((cue) => cue.lines.join(' ') === 'Bring notes')).toBe(true);
    expect(run.shown.some((lines) => lines.join(' ') === 'Bring notes')).toBe(true);
    expect(run.gaps).toEqual([]);
    await run.instance.close();
    await run.instance.close();
    expect(run.instance.closed).toBe(true);
  });

  it('on close, waits for the engine to finish the utterance in progress, so its words reach the transcript', async () => {
    // The stream ends mid-sentence: "please" is never heard, but "bring notes" was (a partial).
    const script = [[{ word: 'bring', start: 1.0, end: 1.3 }, { word: 'notes', start: 1.5, end: 1.9 }, { word: 'please', start: 2.5, end: 2.8 }]];
    const run = captioner({ FAKE_ASR_SCRIPT: JSON.stringify(script) });
    const baseMs = 1_700_000_000_000;
    for (let index = 0; index < 115; index++) run.instance.pushOpus(packets[index]!, baseMs + index * 20);
    await expect.poll(() => run.cues.some((cue) => cue.lines.join(' ') === 'Bring notes'), { timeout: 10_000 }).toBe(true);
    expect(run.words).toEqual([]);
    await run.instance.close();
    expect(run.words.map((word) => word.word)).toEqual(['bring', 'notes']);
  });

  it('never lets a word end after the audio heard, though the engine\'s clock runs ahead of it', async () => {
    // The engine's last word ends at 2.8 s of its clock; only 2.3 s of audio (115 packets of 20 ms) were heard.
    const script = [[{ word: 'bring', start: 1.0, end: 1.3 }, { word: 'please', start: 2.1, end: 2.8 }]];
    const run = captioner({ FAKE_ASR_SCRIPT: JSON.stringify(script), FAKE_ASR_FLUSH_ALL: '1' });
    const baseMs = 1_700_000_000_000;
    for (let index = 0; index < 115; index++) run.instance.pushOpus(packets[index]!, baseMs + index * 20);
    await expect.poll(() => run.cues.some((cue) => cue.lines.join(' ') === 'Bring'), { timeout: 10_000 }).toBe(true);
    await run.instance.close();
    expect(run.words.map((word) => word.word)).toEqual(['bring', 'please']);
    const heardUntil = baseMs + 115 * 20;
    expect(run.words[1]!.endMs).toBeLessThanOrEqual(heardUntil + 40);
    expect(run.words[1]!.startMs).toBeLessThanOrEqual(run.words[1]!.endMs);
    expect(run.words[1]!.startMs).toBeGreaterThan(baseMs + 2000);
  });

  it('a speech engine that cannot start gives way to the next one: the words still come, on the capture clock, with no gap', async () => {
    const script = [[{ word: 'bring', start: 1.0, end: 1.3 }, { word: 'notes', start: 1.5, end: 1.9 }]];
    const engine = new FallbackAsrEngine({
      engines: [new CommandEngine({ command: '/nonexistent/asr-bridge' }), new CommandEngine({ command: process.execPath, args: [fakeEngine], env: { FAKE_ASR_SCRIPT: JSON.stringify(script) } })],
    });
    const fallbacks: AsrFallback[] = [];
    engine.on('fallback', (fallback) => fallbacks.push(fallback));
    const words: LiveWord[] = [];
    const gaps: string[] = [];
    const instance = new LiveCaptioner({
      ffmpegPath: 'ffmpeg',
      engine,
      restartBackoffMaxMs: 1000,
      onCue: () => undefined,
      onWords: (batch) => words.push(...batch),
      onGap: (_atMs, reason) => gaps.push(reason),
      onCrash: () => undefined,
      report: () => undefined,
      show: () => undefined,
    });
    const baseMs = 1_700_000_000_000;
    packets.forEach((packet, index) => instance.pushOpus(packet, baseMs + index * 20));
    await expect.poll(() => words.length, { timeout: 10_000 }).toBe(2);
    expect(words.map((word) => word.word)).toEqual(['bring', 'notes']);
    expect(Math.abs(words[0]!.startMs - (baseMs + 1000))).toBeLessThan(40);
    expect(fallbacks.map((fallback) => fallback.error.code)).toEqual(['engine_unavailable']);
    expect(gaps).toEqual([]);
    await instance.close();
  });

  it('reopens a crashed engine with backoff, marks the gap, and the captions resume', async () => {
    const script = [[{ word: 'hello', start: 0.3, end: 0.6 }]];
    // Every engine process says "hello" at 0.6 s of its audio and dies at 1 s.
    const run = captioner({ FAKE_ASR_SCRIPT: JSON.stringify(script), FAKE_ASR_CRASH_AT: '1' });
    const startMs = Date.now();
    for (let index = 0; index < 200; index++) {
      // In real time, as a live stream comes.
      run.instance.pushOpus(packets[index % packets.length]!, startMs + index * 20);
      await sleep(Math.max(0, startMs + (index + 1) * 20 - Date.now()));
    }
    await expect.poll(() => run.gaps.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(run.gaps[0]!.reason).toContain('speech engine');
    const hellos = run.words.filter((word) => word.word === 'hello');
    expect(hellos.length).toBeGreaterThanOrEqual(2);
    // The second "hello" comes from the reopened engine, after the gap, on the same clock.
    expect(hellos[1]!.startMs).toBeGreaterThan(run.gaps[0]!.atMs);
    expect(hellos[1]!.startMs).toBeLessThan(startMs + 4000);
    await run.instance.close();
  });

  it('restarts a killed audio decoder, marks the gap, and the captions resume; close() leaves no ffmpeg behind', async () => {
    const script = [[{ word: 'hello', start: 0.3, end: 0.6 }]];
    const run = captioner({ FAKE_ASR_SCRIPT: JSON.stringify(script) });
    const startMs = Date.now();
    let killed = false;
    for (let index = 0; index < 150; index++) {
      run.instance.pushOpus(packets[index % packets.length]!, startMs + index * 20);
      if (index === 60) {
        const decoders = await ffmpegChildren(process.pid);
        expect(decoders).toHaveLength(1);
        process.kill(decoders[0]!, 'SIGKILL');
        killed = true;
      }
      await sleep(Math.max(0, startMs + (index + 1) * 20 - Date.now()));
    }
    expect(killed).toBe(true);
    await expect.poll(() => run.words.filter((word) => word.word === 'hello').length, { timeout: 5000 }).toBe(2);
    expect(run.gaps.map((gap) => gap.reason)).toEqual(['audio decoder crashed']);
    const second = run.words.filter((word) => word.word === 'hello')[1]!;
    expect(second.startMs).toBeGreaterThan(run.gaps[0]!.atMs);
    await run.instance.close();
    expect(await ffmpegChildren(process.pid)).toEqual([]);
  });
});
