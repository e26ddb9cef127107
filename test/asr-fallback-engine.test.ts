import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASR_SENTENCES, makeSpeech, normaliseWords, type SpeechFixture } from './helpers/asr-speech.js';
import type { AsrEngine, AsrResult, AsrStream } from '../transforms/subtitles/asr-engine.js';
import type { AsrError } from '../transforms/subtitles/asr-error.js';
import { createAsrEngine } from '../transforms/subtitles/create-asr-engine.js';
import { CommandEngine } from '../transforms/subtitles/engines/command/command-engine.js';
import { PocketSphinxEngine } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-engine.js';
import { FallbackAsrEngine, type AsrFallback } from '../transforms/subtitles/fallback-asr-engine.js';

// The engines here are real: the command engine runs the FAKE engine of test/fixtures (a scripted
// program speaking the command contract) or a program that does not exist; PocketSphinx runs from dist/.
const FAKE_ENGINE = fileURLToPath(new URL('./fixtures/fake-asr-engine.mjs', import.meta.url));
const BUILT_COMMAND_ENGINE = fileURLToPath(new URL('../dist/transforms/subtitles/engines/command/command-engine.js', import.meta.url));
const MISSING_COMMAND = '/nonexistent/asr-bridge';

type ScriptWord = { word: string; start: number; end: number };

function fake(name: string, script: ScriptWord[][], env: Record<string, string> = {}): CommandEngine {
  return new CommandEngine({ name, command: process.execPath, args: [FAKE_ENGINE], env: { FAKE_ASR_SCRIPT: JSON.stringify(script), ...env } });
}

const HELLO_THERE: ScriptWord[][] = [
  [
    { word: 'hello', start: 0.5, end: 0.9 },
    { word: 'there', start: 1.0, end: 1.4 },
  ],
];

interface Recording {
  finals: AsrResult[];
  errors: AsrError[];
  fallbacks: AsrFallback[];
}

function record(engine: FallbackAsrEngine, stream: AsrStream): Recording {
  const recording: Recording = { finals: [], errors: [], fallbacks: [] };
  engine.on('fallback', (fallback) => recording.fallbacks.push(fallback));
  stream.on('final', (result) => recording.finals.push(result));
  stream.on('error', (error) => recording.errors.push(error));
  return recording;
}

/** `seconds` of silence in 100 ms chunks, faster than real time, waiting for `drain` when asked to. */
async function feed(stream: AsrStream, seconds: number, sampleRate = 16000): Promise<void> {
  const chunk = new Int16Array(sampleRate / 10);
  for (let index = 0; index < seconds * 10; index++) {
    if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', resolve));
    if (index % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Running: the process exists and is not a zombie waiting for a parent that may never reap it. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const wordsOf = (finals: AsrResult[]): string[] => finals.flatMap((final) => final.words.map((word) => word.word));

describe('fallback engine (first engine fails for good → the next one)', () => {
  it('takes over from a command that cannot start: the words still arrive, reported once, and later streams start on the fallback', async () => {
    const engine = new FallbackAsrEngine({ engines: [new CommandEngine({ command: MISSING_COMMAND }), fake('fake-b', HELLO_THERE)] });
    expect(engine.name).toBe('command:asr-bridge');
    const stream = engine.open({ sampleRate: 16000 });
    const recording = record(engine, stream);
    await feed(stream, 2.5);
    await stream.end();
    expect(recording.errors).toEqual([]);
    expect(recording.finals.map((final) => final.text)).toEqual(['hello there']);
    // The audio written before the failure was heard again: times still count from the first sample.
    expect(recording.finals[0]!.words.map((word) => [word.word, word.startMs, word.endMs])).toEqual([
      ['hello', 500, 900],
      ['there', 1000, 1400],
    ]);
    expect(recording.fallbacks).toHaveLength(1);
    expect(recording.fallbacks[0]!.from.name).toBe('command:asr-bridge');
    expect(recording.fallbacks[0]!.to.name).toBe('fake-b');
    expect(recording.fallbacks[0]!.error.code).toBe('engine_unavailable');
    expect(recording.fallbacks[0]!.error.message).toContain(MISSING_COMMAND);
    expect(stream.closed).toBe(true);
    expect(engine.name).toBe('fake-b');

    const again = engine.open({ sampleRate: 16000 });
    const second = record(engine, again);
    await feed(again, 2);
    await again.end();
    expect(wordsOf(second.finals)).toEqual(['hello', 'there']);
    expect(second.fallbacks).toEqual([]);
  });

  it('takes over mid-stream after a non-retryable error, hearing again the audio since the last final, with times on the stream clock', async () => {
    // A: "hello there" (final at 1.7 s), then a line outside the contract at 2.5 s: a protocol error, not retryable.
    const first = fake('fake-a', [...HELLO_THERE, [{ word: 'general', start: 2.2, end: 2.7 }]], { FAKE_ASR_GARBAGE_AT: '2.5' });
    // B hears the audio again from the end of A's last final word (1.4 s): its 1.0 s is the stream's 2.4 s.
    const second = fake('fake-b', [[{ word: 'kenobi', start: 1.0, end: 1.3 }]]);
    const engine = new FallbackAsrEngine({ engines: [first, second] });
    const stream = engine.open({ sampleRate: 48000 });
    const recording = record(engine, stream);
    await feed(stream, 3.5, 48000);
    await stream.end();
    expect(recording.errors).toEqual([]);
    expect(recording.fallbacks.map((fallback) => `${fallback.from.name}→${fallback.to.name}:${fallback.error.code}`)).toEqual(['fake-a→fake-b:protocol_error']);
    expect(recording.finals.map((final) => final.words.map((word) => [word.word, word.startMs, word.endMs]))).toEqual([
      [
        ['hello', 500, 900],
        ['there', 1000, 1400],
      ],
      [['kenobi', 2400, 2700]],
    ]);
  });

  it('passes a retryable error on (the caller reopens the same engine), without a fallback', async () => {
    const engine = new FallbackAsrEngine({ engines: [fake('fake-a', HELLO_THERE, { FAKE_ASR_CRASH_AT: '0.5' }), fake('fake-b', HELLO_THERE)] });
    const stream = engine.open({ sampleRate: 16000 });
    const recording = record(engine, stream);
    const error = new Promise<AsrError>((resolve) => stream.once('error', resolve));
    await feed(stream, 1);
    const crash = await error;
    expect(crash.code).toBe('engine_crashed');
    expect(crash.retryable).toBe(true);
    expect(stream.closed).toBe(true);
    expect(recording.fallbacks).toEqual([]);
    expect(engine.name).toBe('fake-a');
    await stream.close();
  });

  it('reports the last engine\'s failure when no engine is left, and refuses a bad sample rate before starting any', async () => {
    const engine = new FallbackAsrEngine({ engines: [new CommandEngine({ command: MISSING_COMMAND }), new CommandEngine({ command: `${MISSING_COMMAND}-2` })] });
    const stream = engine.open({ sampleRate: 16000 });
    const recording = record(engine, stream);
    const error = await new Promise<AsrError>((resolve) => stream.once('error', resolve));
    expect(error.code).toBe('engine_unavailable');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`${MISSING_COMMAND}-2`);
    expect(recording.fallbacks).toHaveLength(1);
    await stream.close();
    expect(() => engine.open({ sampleRate: 1000 })).toThrow(/sampleRate must be an integer between 8000 and 192000, got 1000/);
  });

  it('close() mid-stream stops every engine it started', async () => {
    const engine = new FallbackAsrEngine({ engines: [fake('fake-a', HELLO_THERE, { FAKE_ASR_GARBAGE_AT: '0.3' }), fake('fake-b', HELLO_THERE)] });
    const stream = engine.open({ sampleRate: 16000 });
    const fallback = new Promise<AsrFallback>((resolve) => engine.once('fallback', resolve));
    await feed(stream, 1);
    await fallback;
    const late: string[] = [];
    stream.on('final', (result) => late.push(result.text));
    await stream.close();
    await stream.close(); // idempotent
    await expect(stream.end()).rejects.toThrow(/closed/);
    expect(late).toEqual([]);
  });
});

describe('createAsrEngine (the one place an engine is chosen from the configuration)', () => {
  let dir: string;
  let speech: SpeechFixture;
  const SENTENCES = ASR_SENTENCES.slice(0, 2);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'livefx-asr-fallback-'));
    speech = await makeSpeech(dir, 'speech', SENTENCES);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('PocketSphinx without a command; the command alone with LIVEFX_ASR_FALLBACK=none', async () => {
    expect(createAsrEngine({ LIVEFX_ASR_COMMAND: '  ', LIVEFX_ASR_FALLBACK: 'pocketsphinx' })).toBeInstanceOf(PocketSphinxEngine);
    const alone: AsrEngine = createAsrEngine({ LIVEFX_ASR_COMMAND: MISSING_COMMAND, LIVEFX_ASR_FALLBACK: 'none' });
    expect(alone).toBeInstanceOf(CommandEngine);
    const stream = alone.open({ sampleRate: 16000 });
    const error = await new Promise<AsrError>((resolve) => stream.once('error', resolve));
    expect(error.retryable).toBe(false);
    await stream.close();
  });

  it('falls back from a command that cannot start to PocketSphinx, which recognises the speech', async () => {
    const fallbacks: AsrFallback[] = [];
    const engine = createAsrEngine({ LIVEFX_ASR_COMMAND: `${MISSING_COMMAND} --model small`, LIVEFX_ASR_FALLBACK: 'pocketsphinx' }, { onFallback: (fallback) => fallbacks.push(fallback) });
    const stream = engine.open({ sampleRate: 16000 });
    const finals: AsrResult[] = [];
    const errors: AsrError[] = [];
    stream.on('final', (result) => finals.push(result));
    stream.on('error', (error) => errors.push(error));
    for (let offset = 0; offset < speech.pcm.length; offset += 1600) {
      if (!stream.write(speech.pcm.subarray(offset, offset + 1600))) await new Promise<void>((resolve) => stream.once('drain', resolve));
    }
    await stream.end();
    expect(errors).toEqual([]);
    expect(fallbacks.map((fallback) => `${fallback.from.name}→${fallback.to.name}`)).toEqual(['command:asr-bridge→pocketsphinx']);
    expect(engine.name).toBe('pocketsphinx');
    // PocketSphinx on its own gets every word of these two sentences (asr-pocketsphinx.test.ts).
    expect(wordsOf(finals)).toEqual(SENTENCES.flatMap(normaliseWords));
    // Each word inside its spoken sentence (±150 ms for the model's frame edges): the replayed audio kept its times.
    const outside = finals
      .flatMap((final) => final.words)
      .filter((word) => !speech.sentences.some((sentence) => word.startMs >= sentence.startMs - 150 && word.endMs <= sentence.endMs + 150));
    expect(outside).toEqual([]);
  });
});

describe('command engine process', () => {
  it('dies with the thread that started it: a killed parent leaves no engine behind, even one that ignores SIGTERM', async () => {
    // A parent process that opens a command stream on the fake engine, prints the engine's pid, then waits.
    const program = `
      const { CommandEngine } = await import(${JSON.stringify(BUILT_COMMAND_ENGINE)});
      const stream = new CommandEngine({ command: process.execPath, args: [${JSON.stringify(FAKE_ENGINE)}], env: { FAKE_ASR_IGNORE_TERM: '1' } }).open({ sampleRate: 16000 });
      stream.write(new Int16Array(1600));
      console.log(stream.pid);
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.setEncoding('utf8').once('data', (text: string) => resolve(Number(text.trim())));
      parent.once('exit', (code) => reject(new Error(`the parent exited early (code ${code})`)));
    });
    expect(running(pid)).toBe(true);
    parent.kill('SIGKILL');
    await expect.poll(() => running(pid), { timeout: 5000 }).toBe(false);
  });
});
