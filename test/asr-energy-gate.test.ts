import { describe, expect, it } from 'vitest';
import type { AsrResult } from '../transforms/subtitles/asr-engine.js';
import { EnergyGate } from '../transforms/subtitles/energy-gate.js';
import { PocketSphinxEngine, type PocketSphinxEngineOptions } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-engine.js';
import { scoringWords } from '../transforms/subtitles/word-error-rate.js';
import { speechFolder } from './helpers/test-lifecycle.js';

// The worker runs compiled code from dist/ (npm test builds first; alone: npx tsc -p tsconfig.json).

/** A short line, a 1.5 s pause, then a sentence said in one breath for about 3 s (flite rms), under −45 dBFS noise. */
const SENTENCES = ['Please be kind to each other.', 'I usually stream on Monday and Friday evenings.'];
/** How the gate behaved before: its noise floor climbed 10 dB/s under speech as under steady noise. */
const OLD_GATE: PocketSphinxEngineOptions = { gate: { floorRiseInSpeechDbPerSecond: 10 } };

async function finalsOf(pcm: Int16Array, options: PocketSphinxEngineOptions): Promise<AsrResult[]> {
  const stream = new PocketSphinxEngine(options).open({ sampleRate: 16000 });
  const finals: AsrResult[] = [];
  stream.on('final', (result) => finals.push(result));
  for (let offset = 0; offset < pcm.length; offset += 1600) stream.write(pcm.subarray(offset, offset + 1600));
  await stream.end();
  return finals;
}

describe('energy gate in front of PocketSphinx', () => {
  const made = speechFolder('livefx-asr-gate-', SENTENCES, { leadSilenceMs: 800, gapMs: 1500, noiseDbfs: -45, noiseColor: 'pink' });

  it('passes every word of a long sentence after a 1.5 s pause, where the old gate dropped its last words', async () => {
    const second = made.speech.sentences[1]!;
    const wordsOfSecond = (finals: AsrResult[]): string[] =>
      scoringWords(finals.flatMap((final) => final.words.filter((word) => word.startMs >= second.startMs - 300).map((word) => word.word)).join(' '));
    const now = wordsOfSecond(await finalsOf(made.speech.pcm, {}));
    const before = wordsOfSecond(await finalsOf(made.speech.pcm, OLD_GATE));
    // The first word after the pause and the last words of the sentence are heard now ...
    expect(now[0]).toBe('i');
    expect(now).toEqual(expect.arrayContaining(['friday', 'evenings']));
    // ... and the old gate, whose floor caught up with the voice after about 1.7 s, lost them.
    expect(before).not.toContain('evenings');
    expect(now.length).toBeGreaterThan(before.length);
  }, 120_000);

  it('still closes on steady input: the floor climbs at its steady rate once the level stops rising and falling', () => {
    const gate = new EnergyGate();
    const block = new Int16Array(1600);
    // A loud steady tone: never speech-like (its spread stays under 4 dB), so never passed.
    for (let index = 0; index < block.length; index++) block[index] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * index) / 16000));
    const passed: boolean[] = [];
    for (let second = 0; second < 5 * 10; second++) passed.push(gate.test(block, 16000));
    expect(passed.slice(10)).not.toContain(true);
    // Its floor has reached the tone within the 5 s (10 dB/s from the lowest floor).
    expect(gate.noiseFloorDb).toBeCloseTo(gate.levelDb, 0);
  });
});
