// The speech benchmark's audio: every sentence set spoken by every voice under the same noise and
// pauses, made with flite/espeak-ng and ffmpeg at benchmark time and cached under data/ (never in git).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodePcm, makeSpeech, type SpeechFixture, type SpeechOptions, type SpeechVoice, type SpokenSentence } from './asr-speech.js';
import { projectRoot } from './livefx-process.js';
import type { SentenceSet } from './asr-sentence-sets.js';

/** What the reporter measured with: −45 dBFS noise, 1–2 s pauses. */
export const BENCH_CONDITIONS = { noiseDbfs: -45, noiseColor: 'pink', gapRangeMs: [1000, 2000], leadSilenceMs: 1000 } as const satisfies SpeechOptions;

export const DEFAULT_CORPUS_DIR = path.join(projectRoot, 'data', 'bench-cache', 'asr-speech');

export interface AsrCorpusOptions {
  /** Where the audio is cached (default data/bench-cache/asr-speech). */
  dir?: string;
}

/** Spoken sentence sets, made once per (set, voice, conditions) and read back from the cache afterwards. */
export class AsrCorpus {
  private readonly dir: string;

  constructor(options: AsrCorpusOptions = {}) {
    this.dir = options.dir ?? DEFAULT_CORPUS_DIR;
  }

  async speech(set: SentenceSet, voice: SpeechVoice): Promise<SpeechFixture> {
    // Pauses differ per set but not per voice, so voices are compared on the same sentences and gaps.
    const options: SpeechOptions = { ...BENCH_CONDITIONS, voice, gapSeed: seedOf(set.name) };
    const key = createHash('sha256').update(JSON.stringify({ sentences: set.sentences, options })).digest('hex').slice(0, 12);
    const name = `${set.name}-${voice}-${key}`;
    const meta = path.join(this.dir, `${name}.json`);
    const wav = path.join(this.dir, `${name}.wav`);
    if (existsSync(meta) && existsSync(wav)) {
      const saved = JSON.parse(await readFile(meta, 'utf8')) as { sentences: SpokenSentence[]; durationMs: number };
      return { file: wav, pcm: await decodePcm(wav, path.join(this.dir, 'parts')), sentences: saved.sentences, durationMs: saved.durationMs };
    }
    const parts = path.join(this.dir, 'parts');
    await mkdir(parts, { recursive: true });
    const made = await makeSpeech(parts, name, set.sentences, options);
    await writeFile(wav, await readFile(made.file));
    await writeFile(meta, JSON.stringify({ sentences: made.sentences, durationMs: made.durationMs }));
    return { ...made, file: wav };
  }
}

function seedOf(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32LE(0);
}
