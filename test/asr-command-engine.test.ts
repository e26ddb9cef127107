import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AsrResult, AsrStream } from '../transforms/subtitles/asr-engine.js';
import type { AsrError } from '../transforms/subtitles/asr-error.js';
import { CommandEngine, parseCommandLine } from '../transforms/subtitles/engines/command/command-engine.js';
import { isAlive } from './helpers/livefx-process.js';

const FAKE_ENGINE = fileURLToPath(new URL('./fixtures/fake-asr-engine.mjs', import.meta.url));

/** Two utterances, times in seconds as the contract has them. */
const SCRIPT = [
  [
    { word: 'hello', start: 0.5, end: 0.9, conf: 0.9 },
    { word: 'there', start: 1.0, end: 1.4, conf: 0.8 },
  ],
  [
    { word: 'general', start: 2.2, end: 2.7 },
    { word: 'kenobi', start: 2.8, end: 3.3, conf: 0.6 },
  ],
];

function fakeEngine(env: Record<string, string> = {}, options: { killTimeoutMs?: number } = {}): CommandEngine {
  return new CommandEngine({ command: process.execPath, args: [FAKE_ENGINE], env: { FAKE_ASR_SCRIPT: JSON.stringify(SCRIPT), ...env }, ...options });
}

interface Recording {
  events: { kind: 'partial' | 'final'; result: AsrResult; writtenMs: number }[];
  errors: AsrError[];
}

/** The error `stream` reports while (or after) it is fed `seconds` of audio. */
async function errorWhileFeeding(stream: AsrStream, seconds: number): Promise<AsrError> {
  const error = new Promise<AsrError>((resolve) => stream.once('error', resolve));
  await feed(stream, seconds);
  return error;
}

/** Writes `seconds` of silence at `sampleRate` in 100 ms chunks, giving the engine's pipe a moment now and then. */
async function feed(stream: AsrStream, seconds: number, sampleRate = 16000, recording?: { writtenMs: number }): Promise<void> {
  const chunk = new Int16Array(sampleRate / 10);
  for (let index = 0; index < seconds * 10; index++) {
    if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', resolve));
    if (recording) recording.writtenMs += 100;
    if (index % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function record(stream: AsrStream, clock: { writtenMs: number }): Recording {
  const recording: Recording = { events: [], errors: [] };
  stream.on('partial', (result) => recording.events.push({ kind: 'partial', result, writtenMs: clock.writtenMs }));
  stream.on('final', (result) => recording.events.push({ kind: 'final', result, writtenMs: clock.writtenMs }));
  stream.on('error', (error) => recording.errors.push(error));
  return recording;
}

describe('command engine (process contract, against a fake engine)', () => {
  it('parses JSON lines: partials before finals, seconds to ms, confidences, and end() after the last final', async () => {
    const stream = fakeEngine().open({ sampleRate: 16000 });
    const clock = { writtenMs: 0 };
    const recording = record(stream, clock);
    await feed(stream, 3.5, 16000, clock);
    await stream.end();
    expect(recording.errors).toEqual([]);
    expect(recording.events.map((event) => `${event.kind}:${event.result.text}`)).toEqual([
      'partial:hello',
      'final:hello there',
      'partial:general',
      'final:general kenobi',
    ]);
    const finals = recording.events.filter((event) => event.kind === 'final').map((event) => event.result);
    expect(finals[0]!.words).toEqual([
      { word: 'hello', startMs: 500, endMs: 900, conf: 0.9 },
      { word: 'there', startMs: 1000, endMs: 1400, conf: 0.8 },
    ]);
    expect(finals[1]!.words[0]).toEqual({ word: 'general', startMs: 2200, endMs: 2700 });
    // The first final could only come once 1.4 s + 0.3 s of audio had been written.
    expect(recording.events[1]!.writtenMs).toBeGreaterThanOrEqual(1700);
    expect(stream.closed).toBe(true);
    expect(isAlive(stream.pid)).toBe(false);
  });

  it("resamples other rates to the contract's 16 kHz, so times still match the audio", async () => {
    const stream = fakeEngine().open({ sampleRate: 48000 });
    const finals: AsrResult[] = [];
    stream.on('final', (result) => finals.push(result));
    await feed(stream, 1.8, 48000);
    // 1.8 s at 48 kHz is 1.8 s at 16 kHz for the engine: the first utterance is final, the second not begun.
    // Polled, not a fixed 200 ms wait: on a loaded machine the engine's answer can take longer.
    await expect.poll(() => finals.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(finals.map((final) => final.text)).toEqual(['hello there']);
    await stream.end();
  });

  it('spreads text-only results over the audio since the last final', async () => {
    const stream = fakeEngine({ FAKE_ASR_NO_WORDS: '1' }).open({ sampleRate: 16000 });
    const finals: AsrResult[] = [];
    stream.on('final', (result) => finals.push(result));
    await feed(stream, 3.5);
    await stream.end();
    expect(finals.map((final) => final.words.map((word) => word.word))).toEqual([['hello', 'there'], ['general', 'kenobi']]);
    const all = finals.flatMap((final) => final.words);
    for (let index = 1; index < all.length; index++) expect(all[index]!.startMs).toBeGreaterThanOrEqual(all[index - 1]!.endMs);
    expect(all[all.length - 1]!.endMs).toBeLessThanOrEqual(3500);
  });

  it("reports a crash mid-stream as a retryable error with the engine's stderr, leaves no process, and reopens", async () => {
    const engine = fakeEngine({ FAKE_ASR_CRASH_AT: '1.0' });
    const stream = engine.open({ sampleRate: 16000 });
    const crash = await errorWhileFeeding(stream, 1.5);
    expect(crash.code).toBe('engine_crashed');
    expect(crash.retryable).toBe(true);
    expect(crash.message).toContain('exited with code 3');
    expect(crash.message).toContain('simulated crash');
    expect(stream.closed).toBe(true);
    await stream.close();
    expect(isAlive(stream.pid)).toBe(false);
    const again = fakeEngine().open({ sampleRate: 16000 });
    const finals: string[] = [];
    again.on('final', (result) => finals.push(result.text));
    await feed(again, 2);
    await again.end();
    expect(finals).toEqual(['hello there']);
  });

  it('treats a line outside the contract as a non-retryable protocol error', async () => {
    const stream = fakeEngine({ FAKE_ASR_GARBAGE_AT: '0.5' }).open({ sampleRate: 16000 });
    const failure = await errorWhileFeeding(stream, 1);
    expect(failure.code).toBe('protocol_error');
    expect(failure.retryable).toBe(false);
    expect(failure.message).toContain('this is not json');
    await stream.close();
    expect(isAlive(stream.pid)).toBe(false);
  });

  it('rejects end() when the engine exits non-zero at the end of its input', async () => {
    const stream = fakeEngine({ FAKE_ASR_EXIT_CODE: '4' }).open({ sampleRate: 16000 });
    stream.on('error', () => {});
    await feed(stream, 0.5);
    await expect(stream.end()).rejects.toThrow(/exited with code 4 at the end of its input/);
  });

  it('close() kills an engine that ignores SIGTERM (SIGKILL after the grace period)', async () => {
    const stream = fakeEngine({ FAKE_ASR_IGNORE_TERM: '1' }, { killTimeoutMs: 300 }).open({ sampleRate: 16000 });
    // A partial proves the engine is up and has its SIGTERM handler in place.
    const partial = new Promise((resolve) => stream.once('partial', resolve));
    await feed(stream, 1.2);
    await partial;
    expect(isAlive(stream.pid)).toBe(true);
    const started = Date.now();
    await stream.close();
    expect(isAlive(stream.pid)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('reports a command that does not exist as unavailable, not retryable', async () => {
    const stream = new CommandEngine({ command: '/nonexistent/asr-bridge' }).open({ sampleRate: 16000 });
    const error = await new Promise<AsrError>((resolve) => stream.once('error', resolve));
    expect(error.code).toBe('engine_unavailable');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('/nonexistent/asr-bridge');
    await stream.close();
  });

  it('splits a command setting into program and arguments', () => {
    expect(parseCommandLine(`whisper-bridge --model 'small en' -t "4"`)).toEqual({ command: 'whisper-bridge', args: ['--model', 'small en', '-t', '4'] });
    expect(() => parseCommandLine('   ')).toThrow(/empty/);
  });
});
