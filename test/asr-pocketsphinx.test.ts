import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASR_SENTENCES, NOISY_SET, SYNTHETIC_MUSIC, makeSignal, makeSpeech, normaliseWords, wordErrorRate, type SpeechFixture } from './helpers/asr-speech.js';
import type { AsrResult, AsrStream } from '../transforms/subtitles/asr-engine.js';
import type { AsrError } from '../transforms/subtitles/asr-error.js';
import { PocketSphinxEngine } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-engine.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';

// The worker runs compiled code from dist/ (npm test builds first; alone: npx tsc -p tsconfig.json).

interface Recording {
  events: { kind: 'partial' | 'final'; result: AsrResult }[];
  finals: AsrResult[];
  errors: AsrError[];
}

function record(stream: AsrStream): Recording {
  const recording: Recording = { events: [], finals: [], errors: [] };
  stream.on('partial', (result) => recording.events.push({ kind: 'partial', result }));
  stream.on('final', (result) => {
    recording.events.push({ kind: 'final', result });
    recording.finals.push(result);
  });
  stream.on('error', (error) => recording.errors.push(error));
  return recording;
}

/** Feeds PCM in 100 ms chunks of `sampleRate` and waits for the last final. */
async function recognise(engine: PocketSphinxEngine, pcm: Int16Array, sampleRate = 16000): Promise<Recording> {
  const stream = engine.open({ sampleRate });
  const recording = record(stream);
  const chunk = sampleRate / 10;
  for (let offset = 0; offset < pcm.length; offset += chunk) stream.write(pcm.subarray(offset, offset + chunk));
  await stream.end();
  expect(stream.closed).toBe(true);
  return recording;
}

const wordsOf = (recording: Recording): string[] => recording.finals.flatMap((final) => final.words.map((word) => word.word));

/** Each final word must lie inside the interval of a spoken sentence (±150 ms for the model's frame edges). */
function wordsOutsideSpeech(recording: Recording, fixture: SpeechFixture): string[] {
  return recording.finals
    .flatMap((final) => final.words)
    .filter((word) => !fixture.sentences.some((sentence) => word.startMs >= sentence.startMs - 150 && word.endMs <= sentence.endMs + 150))
    .map((word) => `${word.word}@${word.startMs}-${word.endMs}`);
}

/** OS threads of this process (read synchronously: an async read could start libuv pool threads). */
function threadCount(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

describe('PocketSphinx engine', () => {
  let dir: string;
  let clean: SpeechFixture;
  let noisy: SpeechFixture;
  const engine = new PocketSphinxEngine();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'livefx-asr-'));
    clean = await makeSpeech(dir, 'clean', ASR_SENTENCES);
    noisy = await makeSpeech(dir, 'noisy', ASR_SENTENCES, NOISY_SET);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('recognises clean speech, with final word times inside the spoken sentences and partials first', async () => {
    const recording = await recognise(engine, clean.pcm);
    const reference = ASR_SENTENCES.flatMap(normaliseWords);
    // Measured: 0 % (0 of 71 words); 5 % leaves room for three words.
    expect(wordErrorRate(reference, wordsOf(recording))).toBeLessThanOrEqual(0.05);
    expect(wordsOutsideSpeech(recording, clean)).toEqual([]);
    expect(recording.errors).toEqual([]);
    // One final per sentence (the pauses are 1.5 s), each after at least one partial of its own.
    expect(recording.finals).toHaveLength(ASR_SENTENCES.length);
    let partialsSinceFinal = 0;
    for (const event of recording.events) {
      if (event.kind === 'partial') partialsSinceFinal++;
      else {
        expect(partialsSinceFinal).toBeGreaterThan(0);
        partialsSinceFinal = 0;
      }
    }
    for (const final of recording.finals) {
      for (const word of final.words) {
        expect(word.conf).toBeGreaterThanOrEqual(0);
        expect(word.conf).toBeLessThanOrEqual(1);
        expect(word.word).not.toMatch(/[<[(+]/);
      }
    }
  });

  it('keeps the word error rate within the issue target under pink noise at about 20 dB SNR', async () => {
    const recording = await recognise(engine, noisy.pcm);
    const reference = ASR_SENTENCES.flatMap(normaliseWords);
    // Measured: 18.3 % (13 of 71). Input and decoder are deterministic (seeded noise), so the issue's
    // 20 % target is the threshold itself: one more wrong word fails it.
    expect(wordErrorRate(reference, wordsOf(recording))).toBeLessThanOrEqual(0.2);
    expect(wordsOutsideSpeech(recording, noisy)).toEqual([]);
  });

  it('still recognises clipped speech: a publisher whose gain is far too high', async () => {
    // Four times too loud, hard-clipped at full scale, as an overdriven microphone sends it: 1.6 % of
    // samples clip. Measured WER: 11.3 % at 3× (0.3 % clipped), 21.1 % at 4×, 62 % at 8× (9.4 % clipped).
    const clipped = new Int16Array(clean.pcm.length);
    let clippedSamples = 0;
    for (let index = 0; index < clipped.length; index++) {
      const value = clean.pcm[index]! * 4;
      if (value > 32767 || value < -32768) clippedSamples++;
      clipped[index] = Math.max(-32768, Math.min(32767, value));
    }
    expect(clippedSamples / clipped.length).toBeGreaterThan(0.01);
    const recording = await recognise(engine, clipped);
    const reference = ASR_SENTENCES.flatMap(normaliseWords);
    const wer = wordErrorRate(reference, wordsOf(recording));
    expect(wer).toBeLessThanOrEqual(0.25);
    expect(recording.errors).toEqual([]);
    expect(wordsOutsideSpeech(recording, clean)).toEqual([]);
  });

  it('finds no words in silence or a steady tone, and almost none in music', async () => {
    const silence = await recognise(engine, new Int16Array(16000 * 10));
    expect(wordsOf(silence)).toEqual([]);
    const tone = await recognise(engine, await makeSignal(dir, 'tone', 'sine=f=440:r=16000,volume=0.3', 12));
    expect(wordsOf(tone)).toEqual([]);
    const music = await recognise(engine, await makeSignal(dir, 'music', SYNTHETIC_MUSIC, 15));
    // PocketSphinx's own VAD takes the melody for speech; the energy gate's modulation test keeps
    // at most the word at the music's onset (measured: 1 of 13 words without it).
    expect(wordsOf(music).length).toBeLessThanOrEqual(2);
  });

  it('handles a sample-rate change by reopening: 48 kHz input is resampled and keeps its times', async () => {
    const first = await recognise(engine, clean.pcm.subarray(0, Math.round((clean.sentences[1]!.endMs + 1000) * 16)));
    expect(wordsOf(first)).toEqual(ASR_SENTENCES.slice(0, 2).flatMap(normaliseWords));
    const source48 = path.join(dir, 'clean-48k.s16le');
    await runFfmpeg(['-i', clean.file, '-t', ((clean.sentences[1]!.endMs + 1000) / 1000).toFixed(3), '-ar', '48000', '-ac', '1', '-f', 's16le', source48]);
    const bytes = await readFile(source48);
    const pcm48 = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const second = await recognise(engine, pcm48, 48000);
    expect(wordErrorRate(ASR_SENTENCES.slice(0, 2).flatMap(normaliseWords), wordsOf(second))).toBeLessThanOrEqual(0.1);
    expect(wordsOutsideSpeech(second, clean)).toEqual([]);
  });

  it('turns a worker crash into a retryable error, and a reopened stream works', async () => {
    const stream = engine.open({ sampleRate: 16000 });
    const errors = new Promise<AsrError>((resolve) => stream.once('error', resolve));
    stream.write(clean.pcm.subarray(0, 16000));
    stream.crashWorkerForTest();
    const error = await errors;
    expect(error.retryable).toBe(true);
    expect(error.code).toBe('engine_crashed');
    expect(error.message).toContain('crash requested');
    expect(stream.closed).toBe(true);
    expect(stream.write(clean.pcm.subarray(0, 1600))).toBe(false);
    const reopened = await recognise(engine, clean.pcm.subarray(0, Math.round((clean.sentences[0]!.endMs + 1000) * 16)));
    expect(wordsOf(reopened)).toEqual(normaliseWords(ASR_SENTENCES[0]!));
  });

  it('cancel() drops the utterance in progress without a final, and the stream goes on', async () => {
    const stream = engine.open({ sampleRate: 16000 });
    const recording = record(stream);
    const first = clean.sentences[0]!;
    const second = clean.sentences[1]!;
    // The first sentence up to its last sample, then cancel: PocketSphinx has not seen the pause yet.
    stream.write(clean.pcm.subarray(0, Math.round(first.endMs * 16)));
    stream.cancel();
    stream.write(clean.pcm.subarray(Math.round(first.endMs * 16), Math.round((second.endMs + 1000) * 16)));
    await stream.end();
    expect(recording.finals.map((final) => final.text)).toEqual([normaliseWords(ASR_SENTENCES[1]!).join(' ')]);
    // Times still count from the stream's first sample.
    expect(recording.finals[0]!.words[0]!.startMs).toBeGreaterThanOrEqual(second.startMs - 150);
  });

  it('close() mid-stream ends the worker thread and stops events; end() after close rejects', async () => {
    const before = threadCount();
    const streams = [engine.open({ sampleRate: 16000 }), engine.open({ sampleRate: 16000 })];
    for (const stream of streams) stream.write(clean.pcm.subarray(0, 32000));
    expect(threadCount()).toBeGreaterThan(before);
    const late: string[] = [];
    for (const stream of streams) stream.on('final', (result) => late.push(result.text));
    await Promise.all(streams.map((stream) => stream.close()));
    await Promise.all(streams.map((stream) => stream.close())); // idempotent
    expect(threadCount()).toBe(before);
    await expect(streams[0]!.end()).rejects.toThrow(/closed/);
    expect(late).toEqual([]);
  });

  it('reports a missing model as a non-retryable error', async () => {
    const broken = new PocketSphinxEngine({ model: { acousticModel: '/nonexistent/hmm', languageModel: '/nonexistent/lm', dictionary: '/nonexistent/dict' } });
    const stream = broken.open({ sampleRate: 16000 });
    const error = await new Promise<AsrError>((resolve) => stream.once('error', resolve));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('/nonexistent/hmm');
    await stream.close();
  });
});
