// Live subtitles engine: word error rate on generated speech (clean and under pink noise), real-time
// factor on one core, latency of partials and finals in a real-time feed, and what the energy gate
// saves on mostly-silent input. PocketSphinx through koffi, as the server runs it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ASR_SENTENCES, NOISY_SET, SPEECH_VOICES, SYNTHETIC_MUSIC, makeSignal, makeSpeech, normaliseWords, wordErrorRate, type SpeechFixture, type SpeechVoice } from '../test/helpers/asr-speech.js';
import { scoringWords, wordErrors, type WordErrors } from '../transforms/subtitles/word-error-rate.js';
import { AsrCorpus, BENCH_CONDITIONS } from '../test/helpers/asr-corpus.js';
import { TUNING_SET, TUNING_SET_2, UNSEEN_SETS } from '../test/helpers/asr-sentence-sets.js';
import { percentile, renderBarChart, RESULTS_DIR, writeResult } from './bar-chart.js';
import { cpuSecondsWithEndedChildren } from './process-usage.js';
import type { AsrResult } from '../transforms/subtitles/asr-engine.js';
import { transcribeFile } from '../transforms/subtitles/transcribe-file.js';
import type { Transcript } from '../transforms/subtitles/transcript-formats.js';
import { PocketSphinxEngine, type PocketSphinxEngineOptions } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-engine.js';
import { LIVE_ADAPTATION_AFTER_MS } from '../transforms/subtitles/engines/pocketsphinx/live-speaker-adaptation.js';
import type { PocketSphinxStream } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-stream.js';

const CHUNK = 1600;
const dir = await mkdtemp(path.join(tmpdir(), 'livefx-asr-bench-'));

interface TimedEvent {
  kind: 'partial' | 'final';
  result: AsrResult;
  /** Wall-clock ms since the first sample was written. */
  atMs: number;
}

interface Run {
  events: TimedEvent[];
  finals: AsrResult[];
  wallMs: number;
  processCpuMs: number;
  stats: NonNullable<PocketSphinxStream['stats']>;
}

/** Feeds 100 ms chunks, either as fast as the engine takes them or paced like a live stream. */
async function run(pcm: Int16Array, options: PocketSphinxEngineOptions = {}, realTime = false): Promise<Run> {
  const stream = new PocketSphinxEngine(options).open({ sampleRate: 16000 });
  const events: TimedEvent[] = [];
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  stream.on('partial', (result) => events.push({ kind: 'partial', result, atMs: performance.now() - started }));
  stream.on('final', (result) => events.push({ kind: 'final', result, atMs: performance.now() - started }));
  for (let offset = 0, index = 0; offset < pcm.length; offset += CHUNK, index++) {
    if (realTime) {
      const due = started + index * 100;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (!stream.write(pcm.subarray(offset, offset + CHUNK))) await new Promise<void>((resolve) => stream.once('drain', resolve));
  }
  await stream.end();
  const cpu = process.cpuUsage(cpuStart);
  return {
    events,
    finals: events.filter((event) => event.kind === 'final').map((event) => event.result),
    wallMs: performance.now() - started,
    processCpuMs: (cpu.user + cpu.system) / 1000,
    stats: stream.stats!,
  };
}

const wer = (fixture: SpeechFixture, result: Run): number =>
  wordErrorRate(fixture.sentences.flatMap((sentence) => normaliseWords(sentence.text)), result.finals.flatMap((final) => final.words.map((word) => word.word)));
const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;
const summary = (values: number[]) => ({ p50Ms: Math.round(percentile(values, 0.5)), p95Ms: Math.round(percentile(values, 0.95)), maxMs: Math.round(Math.max(...values)), count: values.length });

/** The recognizer before issue 17 §3's decoder tuning: no frequency warp in the front end. */
const BEFORE: PocketSphinxEngineOptions = { decoderArgs: { '-warp_params': '1.0' } };

interface VoiceScore extends WordErrors {
  /** CPU of this process (caller and worker thread) per second of audio, in ms. */
  cpuMsPerAudioS: number;
}

/** Every voice on every set, before and after; ASR_BENCH_SETS / ASR_BENCH_VOICES (comma lists) run a subset while developing. */
async function voiceScores(): Promise<{ set: string; voice: SpeechVoice; words: number; before: VoiceScore; after: VoiceScore; liveAdapted: VoiceScore; adapted: VoiceScore & { adaptation: Transcript['adaptation'] } }[]> {
  const wanted = (name: string): string[] | undefined => process.env[name]?.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const setNames = wanted('ASR_BENCH_SETS');
  const voiceNames = wanted('ASR_BENCH_VOICES');
  const sets = [TUNING_SET, ...UNSEEN_SETS].filter((set) => !setNames || setNames.includes(set.name));
  const voices = SPEECH_VOICES.filter((voice) => !voiceNames || voiceNames.includes(voice));
  const corpus = new AsrCorpus();
  const rows = [];
  for (const set of sets) {
    const reference = scoringWords(set.sentences.join(' '));
    for (const voice of voices) {
      const speech = await corpus.speech(set, voice);
      const score = async (options: PocketSphinxEngineOptions): Promise<VoiceScore> => {
        const decoded = await run(speech.pcm, options);
        const hypothesis = scoringWords(decoded.finals.map((final) => final.text).join(' '));
        return { ...wordErrors(reference, hypothesis), cpuMsPerAudioS: round(decoded.processCpuMs / (speech.durationMs / 1000), 1) };
      };
      // As `livefx transcribe` runs: two passes, the second adapted to the speaker from the first.
      const adapted = async (): Promise<VoiceScore & { adaptation: Transcript['adaptation'] }> => {
        // This process, its threads and the adaptation tools it has waited for.
        const cpuStartS = await cpuSecondsWithEndedChildren(process.pid);
        const transcript = await transcribeFile(speech.file, { engine: new PocketSphinxEngine() });
        const cpuMs = ((await cpuSecondsWithEndedChildren(process.pid)) - cpuStartS) * 1000;
        const hypothesis = scoringWords(transcript.utterances.map((utterance) => utterance.text).join(' '));
        return { ...wordErrors(reference, hypothesis), cpuMsPerAudioS: round(cpuMs / (speech.durationMs / 1000), 1), adaptation: transcript.adaptation };
      };
      const row = {
        set: set.name,
        voice,
        words: reference.length,
        before: await score(BEFORE),
        after: await score({}),
        // As live captions run: one pass that adapts to the speaker after 30 s (and 120 s) of recognised speech.
        liveAdapted: await score({ adaptAfterSpeechMs: LIVE_ADAPTATION_AFTER_MS }),
        adapted: await adapted(),
      };
      console.error(
        `${set.name} ${voice}: WER ${(row.before.rate * 100).toFixed(1)} % → ${(row.after.rate * 100).toFixed(1)} % one pass, ${(row.liveAdapted.rate * 100).toFixed(1)} % live adapting, ${(row.adapted.rate * 100).toFixed(1)} % two passes; ` +
          `CPU ms per audio second ${row.after.cpuMsPerAudioS} one pass, ${row.adapted.cpuMsPerAudioS} two passes`,
      );
      rows.push(row);
    }
  }
  return rows;
}

const voiceLoadBefore = loadavg()[0]!;
const voices = await voiceScores();
const voiceResult = {
  engine: 'PocketSphinx 5prealpha (Debian libpocketsphinx3, en-us model) via koffi, one worker thread, as the server runs it',
  conditions: `flite voices kal, awb, rms, slt and espeak-ng (en-us); pink noise at ${BENCH_CONDITIONS.noiseDbfs} dBFS RMS; pauses ${BENCH_CONDITIONS.gapRangeMs[0]}–${BENCH_CONDITIONS.gapRangeMs[1]} ms; scored as spoken words (digits spelled out)`,
  tunedOn: `${TUNING_SET.name} and ${TUNING_SET_2.name}`,
  before: 'front end without frequency warping (the defaults until 2026-12-07)',
  after: 'one pass as live captions run: the front end warps frequencies (inverse_linear, 0.92), the spectrum stretched about 9 % up before the mel filters',
  liveAdapted: 'one pass as live captions run it: the stream adapts to the speaker (the same MLLR estimate) once 30 s of speech have been recognised, and again at 120 s; the words before that are the one-pass words',
  adapted: 'two passes as `livefx transcribe` runs them: the first pass\'s words and audio give an MLLR transform of the acoustic model (SphinxTrain bw + mllr_solve, no reference text), the second pass decodes with it; CPU includes both passes and the tools',
  machine: `${cpus().length} shared cores, load average ${voiceLoadBefore.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end`,
  target: 0.25,
  rows: voices.map((row) => ({ ...row, before: { ...row.before, rate: round(row.before.rate) }, after: { ...row.after, rate: round(row.after.rate) }, liveAdapted: { ...row.liveAdapted, rate: round(row.liveAdapted.rate) }, adapted: { ...row.adapted, rate: round(row.adapted.rate) } })),
};
await writeResult('asr-voices', voiceResult, {
  title: 'Speech engine WER per voice and sentence set: before tuning, one pass, live adapting after 30 s of speech, two passes (livefx transcribe) — PocketSphinx, −45 dBFS noise',
  unit: '%',
  target: { value: 25, label: 'WER target 25 %' },
  groups: voices.map((row) => ({ label: `${row.set} ${row.voice}`, values: { before: round(row.before.rate * 100, 1), 'one pass': round(row.after.rate * 100, 1), 'live adapting': round(row.liveAdapted.rate * 100, 1), 'two passes': round(row.adapted.rate * 100, 1) } })),
});
if (process.env.ASR_BENCH_ONLY_VOICES === '1') process.exit(0);

const clean = await makeSpeech(dir, 'clean', ASR_SENTENCES);
const noisy = await makeSpeech(dir, 'noisy', ASR_SENTENCES, NOISY_SET);

// Accuracy and speed, fed as fast as the worker takes it.
const cleanRun = await run(clean.pcm);
const noisyRun = await run(noisy.pcm);

// Latency: a live feed (100 ms every 100 ms) of the clean set.
const live = await run(clean.pcm, {}, true);
const finalLatency: number[] = [];
const firstPartial: number[] = [];
const wordLatency: number[] = [];
for (const sentence of clean.sentences) {
  const final = live.events.find((event) => event.kind === 'final' && event.result.words.some((word) => word.startMs >= sentence.startMs - 150 && word.startMs <= sentence.endMs));
  if (final) finalLatency.push(final.atMs - sentence.endMs);
  const partial = live.events.find((event) => event.atMs >= sentence.startMs && event.result.words.length > 0 && event.result.words[0]!.startMs >= sentence.startMs - 150);
  if (partial) firstPartial.push(partial.atMs - sentence.startMs);
}
// A word is on screen from the first result that holds it (same word, start within 200 ms).
for (const word of live.finals.flatMap((final) => final.words)) {
  const first = live.events.find((event) => event.result.words.some((candidate) => candidate.word === word.word && Math.abs(candidate.startMs - word.startMs) <= 200));
  if (first) wordLatency.push(first.atMs - word.endMs);
}

// The energy gate on mostly-silent input: a minute of quiet room noise with one sentence in it.
const quiet = await makeSignal(dir, 'quiet', 'anoisesrc=color=pink:amplitude=0.04:r=16000:seed=3', 60, 0);
const mostlySilent = new Int16Array(quiet);
const sentence = clean.pcm.subarray(Math.round(clean.sentences[0]!.startMs * 16), Math.round(clean.sentences[0]!.endMs * 16));
for (let index = 0; index < sentence.length; index++) mostlySilent[30 * 16000 + index] = Math.max(-32768, Math.min(32767, mostlySilent[30 * 16000 + index]! + sentence[index]!));
const gated = await run(mostlySilent);
const ungated = await run(mostlySilent, { gate: false });
const music = await makeSignal(dir, 'music', SYNTHETIC_MUSIC, 30);
const musicGated = await run(music);
const musicUngated = await run(music, { gate: false });
await rm(dir, { recursive: true, force: true });

const words = (result: Run): number => result.finals.reduce((sum, final) => sum + final.words.length, 0);
const gateResult = (result: Run, audioMs: number) => ({
  decoderMs: result.stats.decoderMs,
  processCpuMs: Math.round(result.processCpuMs),
  decodedShare: round(result.stats.decodedAudioMs / audioMs),
  coreShare: round(result.processCpuMs / audioMs, 4),
  words: words(result),
});
const result = {
  engine: 'PocketSphinx 5prealpha (Debian libpocketsphinx3, en-us model) via koffi, one worker thread',
  machine: '2 shared cores',
  set: `${ASR_SENTENCES.length} sentences, ${ASR_SENTENCES.flatMap(normaliseWords).length} words, flite rms voice, 1.5 s pauses; noisy: pink noise ≈ 20 dB below the voice`,
  wer: { clean: round(wer(clean, cleanRun)), noisy: round(wer(noisy, noisyRun)), target: 0.2 },
  realTimeFactor: {
    // Wall time inside libpocketsphinx over the audio's duration: the worker is one thread, so one core.
    clean: round(cleanRun.stats.decoderMs / clean.durationMs),
    noisy: round(noisyRun.stats.decoderMs / noisy.durationMs),
    cleanProcessCpu: round(cleanRun.processCpuMs / clean.durationMs),
    noisyProcessCpu: round(noisyRun.processCpuMs / noisy.durationMs),
    target: 0.3,
  },
  liveFeed: {
    finalAfterSentenceEnd: summary(finalLatency),
    firstPartialAfterSentenceStart: summary(firstPartial),
    wordEndToFirstResult: summary(wordLatency),
    target: 'caption latency p95 ≤ 1.5 s (this is the engine part; delivery adds to it)',
  },
  energyGate: {
    input: '60 s pink noise at −42 dBFS with one 2.3 s sentence',
    gated: gateResult(gated, 60_000),
    ungated: gateResult(ungated, 60_000),
    music30s: { gated: gateResult(musicGated, 31_000), ungated: gateResult(musicUngated, 31_000) },
  },
};
console.log(JSON.stringify(result, null, 2));
const resultsDir = RESULTS_DIR;
await writeResult('asr', result, {
  title: 'Live subtitles engine latency (PocketSphinx, live 100 ms feed)',
  unit: 'ms',
  target: { value: 1500, label: 'caption p95 target 1.5 s' },
  groups: [
    { label: 'word end → first shown', values: { p50: result.liveFeed.wordEndToFirstResult.p50Ms, p95: result.liveFeed.wordEndToFirstResult.p95Ms } },
    { label: 'sentence end → final', values: { p50: result.liveFeed.finalAfterSentenceEnd.p50Ms, p95: result.liveFeed.finalAfterSentenceEnd.p95Ms } },
    { label: 'sentence start → 1st partial', values: { p50: result.liveFeed.firstPartialAfterSentenceStart.p50Ms, p95: result.liveFeed.firstPartialAfterSentenceStart.p95Ms } },
  ],
});
await writeFile(
  path.join(resultsDir, 'asr-accuracy.svg'),
  renderBarChart({
    title: 'Live subtitles engine: word error rate and real-time factor',
    unit: '%',
    target: { value: 20, label: 'WER target 20 %' },
    groups: [
      { label: 'clean', values: { 'WER %': result.wer.clean * 100, 'RTF ×100 (one core)': result.realTimeFactor.clean * 100 } },
      { label: 'pink noise, 20 dB SNR', values: { 'WER %': result.wer.noisy * 100, 'RTF ×100 (one core)': result.realTimeFactor.noisy * 100 } },
    ],
  }),
);
