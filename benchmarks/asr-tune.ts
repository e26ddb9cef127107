// Tuning aid for the speech recognizer's settings: decodes cached corpus audio in this process (the
// recognizer the worker runs, same defaults) under one or more decoder-argument sets and prints WER per
// voice and set. Only for the tuning sets: the unseen sets are measured by asr.ts, never tuned on.
// ASR_TUNE_SETS=tuning,tuning-2 ASR_TUNE_VOICES=kal,espeak-ng ASR_TUNE_ARGS='{"-lw":"8"};{"-lw":"10"}'
import { execFileSync } from 'node:child_process';
import { SPEECH_VOICES, type SpeechVoice } from '../test/helpers/asr-speech.js';
import { scoringWords, wordErrors } from '../transforms/subtitles/word-error-rate.js';
import { PocketSphinxRecognizer } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-recognizer.js';
import { DEBIAN_MODEL } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-library.js';
import { AsrCorpus } from '../test/helpers/asr-corpus.js';
import { TUNING_SET, TUNING_SET_2 } from '../test/helpers/asr-sentence-sets.js';

const list = (name: string): string[] | undefined => process.env[name]?.split(',').map((item) => item.trim()).filter((item) => item !== '');
const setNames = list('ASR_TUNE_SETS') ?? ['tuning'];
const sets = [TUNING_SET, TUNING_SET_2].filter((set) => setNames.includes(set.name));
const voices = SPEECH_VOICES.filter((voice) => (list('ASR_TUNE_VOICES') ?? SPEECH_VOICES).includes(voice)) as SpeechVoice[];
const argSets = (process.env.ASR_TUNE_ARGS ?? '{}').split(';').map((text) => JSON.parse(text) as Record<string, string>);
const corpus = new AsrCorpus();

for (const decoderArgs of argSets) {
  const line: string[] = [];
  let errors = 0;
  let words = 0;
  let cpuMs = 0;
  let audioMs = 0;
  for (const set of sets) {
    const reference = scoringWords(set.sentences.join(' '));
    for (const voice of voices) {
      const speech = await corpus.speech(set, voice);
      // ASR_TUNE_FILTER: an ffmpeg filter over the audio first (e.g. lowpass=f=3800), for what-if measurements.
      if (process.env.ASR_TUNE_FILTER) {
        const out = execFileSync('ffmpeg', ['-v', 'error', '-i', speech.file, '-af', process.env.ASR_TUNE_FILTER, '-ac', '1', '-ar', '16000', '-f', 's16le', '-'], { maxBuffer: 1 << 28 });
        speech.pcm = new Int16Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
      }
      const finals: string[] = [];
      const recognizer = new PocketSphinxRecognizer({ model: DEBIAN_MODEL, postSpeechFrames: 40, decoderArgs }, (kind, result) => {
        if (kind === 'final') finals.push(result.text);
      });
      const start = process.cpuUsage();
      for (let offset = 0; offset < speech.pcm.length; offset += 1600) recognizer.write(speech.pcm.subarray(offset, offset + 1600));
      recognizer.finish();
      const cpu = process.cpuUsage(start);
      recognizer.close();
      const score = wordErrors(reference, scoringWords(finals.join(' ')));
      errors += score.substitutions + score.deletions + score.insertions;
      words += score.referenceWords;
      cpuMs += (cpu.user + cpu.system) / 1000;
      audioMs += speech.durationMs;
      line.push(`${set.name}/${voice} ${(score.rate * 100).toFixed(1)} (S${score.substitutions} D${score.deletions} I${score.insertions})`);
      if (process.env.ASR_TUNE_SHOW === '1') console.error(`${set.name}/${voice}: ${finals.join(' | ')}`);
    }
  }
  console.log(`${JSON.stringify(decoderArgs)}  total ${((errors / words) * 100).toFixed(1)} %  ${Math.round(cpuMs / (audioMs / 1000))} ms/s  ${line.join('  ')}`);
}
