import { describe, expect, it } from 'vitest';
import { AsrCorpus } from './helpers/asr-corpus.js';
import { TUNING_SET } from './helpers/asr-sentence-sets.js';
import type { SpeechVoice } from './helpers/asr-speech.js';
import { PocketSphinxEngine } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-engine.js';
import { scoringWords, wordErrors } from '../transforms/subtitles/word-error-rate.js';
import { transcribeFile } from '../transforms/subtitles/transcribe-file.js';

// The worker runs compiled code from dist/ (npm test builds first; alone: npx tsc -p tsconfig.json).
// Issue 17 §3: synthetic voices far from the acoustic model's training speakers (flite's 8 kHz `kal`,
// espeak-ng's formant synthesis) under the benchmark's conditions (−45 dBFS pink noise, 1–2 s pauses).

const engine = new PocketSphinxEngine();
// The benchmark's audio, made once and cached under data/bench-cache/asr-speech/ (not in git).
const corpus = new AsrCorpus();

/** Word error rate of the benchmark's tuning set spoken by `voice`, as spoken words, through the engine. */
async function voiceWer(voice: SpeechVoice): Promise<number> {
  const speech = await corpus.speech(TUNING_SET, voice);
  const stream = engine.open({ sampleRate: 16000 });
  const finals: string[] = [];
  stream.on('final', (result) => finals.push(result.text));
  // As fast as the worker takes it: all 100 s at once would leave it more than end()'s 30 s to catch up.
  for (let offset = 0; offset < speech.pcm.length; offset += 1600) {
    if (!stream.write(speech.pcm.subarray(offset, offset + 1600))) await new Promise<void>((resolve) => stream.once('drain', resolve));
  }
  await stream.end();
  return wordErrors(scoringWords(TUNING_SET.sentences.join(' ')), scoringWords(finals.join(' '))).rate;
}

describe('speech from synthetic voices the model was not trained on', () => {
  // Without the front end's frequency warp: kal 31.9 %, espeak-ng 22.2 %; with it 28.7 % and 18.1 %.
  // Measured: 61 s for both voices with the audio cached (2 shared cores), plus its synthesis the first time; the limit is 3× and more.
  it('transcribes the kal and espeak-ng voices with fewer word errors than the unwarped front end did', async () => {
    const kal = await voiceWer('kal');
    const espeak = await voiceWer('espeak-ng');
    expect(kal).toBeLessThanOrEqual(0.3);
    expect(espeak).toBeLessThanOrEqual(0.2);
  }, 300_000);

  // Issue 17 §3's ≤ 25 % for kal: `livefx transcribe` adapts the acoustic model to the speaker from the
  // file's own speech and first-pass words (an MLLR transform), then decodes again. Measured on this
  // set: 28.7 % in one pass, 16.2 % adapted; 80 s for the three passes in the full suite with a benchmark
  // running beside it (limit 3.7×).
  it('adapts to the kal voice from its own first pass: a second pass with far fewer word errors', async () => {
    const speech = await corpus.speech(TUNING_SET, 'kal');
    const reference = scoringWords(TUNING_SET.sentences.join(' '));
    const wer = (words: string[]): number => wordErrors(reference, scoringWords(words.join(' '))).rate;
    const onePass = await transcribeFile(speech.file, { engine, adapt: false });
    expect(onePass.adaptation).toBeUndefined();
    const adapted = await transcribeFile(speech.file, { engine });
    expect(adapted.adaptation).toMatchObject({ applied: true });
    expect(adapted.adaptation?.applied === true && adapted.adaptation.speechS).toBeGreaterThan(60);
    expect(adapted.engine.version).toBe('5prealpha+mllr');
    const before = wer(onePass.words.map((word) => word.word));
    const after = wer(adapted.words.map((word) => word.word));
    expect(before).toBeGreaterThan(0.25);
    expect(after).toBeLessThanOrEqual(0.22);
    expect(after).toBeLessThan(before - 0.06);
  }, 300_000);
});
