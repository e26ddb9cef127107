import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FfmpegError, JobCancelledError, type ProcessRunner } from '../../../../core/process/process-runner.js';
import type { AdaptationSample } from '../../asr-engine.js';
import { mixtureWeightsFromSendump } from './sendump-weights.js';
import { POCKETSPHINX_SAMPLE_RATE, type PocketSphinxModel } from './pocketsphinx-library.js';

/**
 * Unsupervised speaker adaptation for PocketSphinx: one global MLLR transform of the acoustic model's
 * means, estimated from a speaker's own speech and the decoder's first-pass words (no reference text),
 * then loaded with `-mllr` for a second pass. The estimate runs SphinxTrain's tools as supervised
 * children: `sphinx_fe` computes the decoder's features for each utterance, `bw` aligns them to the
 * hypothesised words and accumulates Gaussian statistics, `mllr_solve` solves for the transform.
 * Measured on synthetic voices the model never heard (benchmarks/README.md): flite kal 28.7 → 16.2 %
 * WER on a tuning set; a few seconds of CPU against the minutes of the decoding passes.
 */

/** Where Debian puts the tools (packages sphinxbase-utils, sphinxtrain, pocketsphinx). */
export const ADAPTATION_TOOLS = {
  featureExtractor: { path: '/usr/bin/sphinx_fe', debianPackage: 'sphinxbase-utils' },
  baumWelch: { path: '/usr/lib/sphinxtrain/bw', debianPackage: 'sphinxtrain' },
  mllrSolve: { path: '/usr/lib/sphinxtrain/mllr_solve', debianPackage: 'sphinxtrain' },
  mdefConvert: { path: '/usr/bin/pocketsphinx_mdef_convert', debianPackage: 'pocketsphinx' },
} as const;

/** Less speech than this gives a transform worse than none. */
export const MIN_ADAPTATION_SPEECH_MS = 20_000;
/** More than this costs time in bw and gains nothing measurable for one global transform. */
export const MAX_ADAPTATION_SPEECH_MS = 10 * 60_000;

/** Adaptation was not possible: the message says why (tools missing, too little speech, a tool failed). */
export class SpeakerAdaptationError extends Error {
  override readonly name = 'SpeakerAdaptationError';
}

/** The Debian packages whose tools are missing (empty when adaptation can run). */
export function missingAdaptationPackages(): string[] {
  return [...new Set(Object.values(ADAPTATION_TOOLS).filter((tool) => !existsSync(tool.path)).map((tool) => tool.debianPackage))];
}

export interface SpeakerTransformOptions {
  model: PocketSphinxModel;
  /** Runs the tools (supervised, killed with this process or on abort). */
  runner: ProcessRunner;
  /** A directory of this estimate's own; the transform is written there as `mllr`. */
  workDir: string;
  /** The decoder's front-end settings beyond feat.params (warp), as name/value pairs. */
  frontEnd: readonly (readonly [string, string])[];
  signal?: AbortSignal;
}

/** How much speech the samples hold, in ms. */
export function adaptationSpeechMs(samples: readonly AdaptationSample[]): number {
  return samples.reduce((sum, sample) => sum + (sample.pcm.length / POCKETSPHINX_SAMPLE_RATE) * 1000, 0);
}

/**
 * Estimates a speaker's MLLR transform; resolves to the transform file's path. Samples are 16 kHz
 * utterances with the words decoded from them; only the first MAX_ADAPTATION_SPEECH_MS are used.
 * Rejects with SpeakerAdaptationError when it cannot run or a tool fails, JobCancelledError on abort.
 */
export async function estimateSpeakerTransform(samples: readonly AdaptationSample[], options: SpeakerTransformOptions): Promise<string> {
  const missing = missingAdaptationPackages();
  if (missing.length > 0) throw new SpeakerAdaptationError(`speaker adaptation needs the Debian packages ${missing.join(', ')}`);
  const usable: AdaptationSample[] = [];
  let speechMs = 0;
  for (const sample of samples) {
    const words = sample.words.filter((word) => /^[a-z0-9'.-]+$/i.test(word));
    if (words.length === 0 || words.length !== sample.words.length) continue;
    if (speechMs >= MAX_ADAPTATION_SPEECH_MS) break;
    usable.push({ pcm: sample.pcm, words });
    speechMs += (sample.pcm.length / POCKETSPHINX_SAMPLE_RATE) * 1000;
  }
  if (speechMs < MIN_ADAPTATION_SPEECH_MS) {
    throw new SpeakerAdaptationError(`too little speech to adapt to (${(speechMs / 1000).toFixed(1)} s recognised; it needs ${MIN_ADAPTATION_SPEECH_MS / 1000} s)`);
  }
  const { workDir: dir, model, runner, signal } = options;
  const features = path.join(dir, 'features');
  const counts = path.join(dir, 'counts');
  await mkdir(features, { recursive: true });
  await mkdir(counts, { recursive: true });
  const [mdef, weights] = await Promise.all([textModelDefinition(model, dir, runner, signal), mixtureWeights(model, dir)]);

  const ids: string[] = [];
  const transcripts: string[] = [];
  await Promise.all(
    usable.map(async (sample, index) => {
      const id = `u${index}`;
      ids[index] = id;
      transcripts[index] = `<s> ${sample.words.join(' ').toLowerCase()} </s> (${id})`;
      await writeFile(path.join(features, `${id}.raw`), Buffer.from(sample.pcm.buffer, sample.pcm.byteOffset, sample.pcm.byteLength));
    }),
  );
  const controlFile = path.join(dir, 'utterances.ctl');
  const transcriptFile = path.join(dir, 'utterances.lsn');
  await writeFile(controlFile, `${ids.join('\n')}\n`);
  await writeFile(transcriptFile, `${transcripts.join('\n')}\n`);
  const hmm = model.acousticModel;
  const featParams = path.join(hmm, 'feat.params');
  const inputS = speechMs / 1000;
  await tool(runner, ADAPTATION_TOOLS.featureExtractor.path, [
    '-argfile', featParams, '-samprate', String(POCKETSPHINX_SAMPLE_RATE), '-raw', 'yes', '-input_endian', 'little',
    '-c', controlFile, '-di', features, '-do', features, '-ei', 'raw', '-eo', 'mfc', '-remove_silence', 'no',
    ...options.frontEnd.flat(),
  ], signal, 'features', inputS);
  await tool(runner, ADAPTATION_TOOLS.baumWelch.path, [
    '-hmmdir', hmm, '-moddeffn', mdef, '-mixwfn', weights, '-meanfn', path.join(hmm, 'means'), '-varfn', path.join(hmm, 'variances'),
    '-tmatfn', path.join(hmm, 'transition_matrices'), '-ts2cbfn', '.ptm.', '-feat', '1s_c_d_dd', '-svspec', '0-12/13-25/26-38',
    '-cmn', 'batch', '-agc', 'none', '-dictfn', model.dictionary, '-fdictfn', path.join(hmm, 'noisedict'),
    '-ctlfn', controlFile, '-lsnfn', transcriptFile, '-cepdir', features, '-accumdir', counts,
    '-mixwreest', 'no', '-tmatreest', 'no', '-timing', 'no',
  ], signal, 'alignment', inputS);
  const transform = path.join(dir, 'mllr');
  await tool(runner, ADAPTATION_TOOLS.mllrSolve.path, [
    '-meanfn', path.join(hmm, 'means'), '-varfn', path.join(hmm, 'variances'), '-outmllrfn', transform, '-accumdir', counts,
  ], signal, 'transform', 0);
  if (!existsSync(transform)) throw new SpeakerAdaptationError('mllr_solve wrote no transform');
  return transform;
}

async function tool(runner: ProcessRunner, command: string, args: string[], signal: AbortSignal | undefined, stage: string, inputS: number): Promise<void> {
  try {
    await runner.run(command, args, signal, { stage: `speaker adaptation ${stage}`, inputS });
  } catch (error) {
    if (error instanceof JobCancelledError) throw error;
    const detail = error instanceof FfmpegError ? lastLines(error.stderr) || error.message : error instanceof Error ? error.message : String(error);
    throw new SpeakerAdaptationError(`speaker adaptation failed in ${path.basename(command)}: ${detail}`, { cause: error });
  }
}

function lastLines(stderr: string): string {
  return stderr.trim().split('\n').filter((line) => /ERROR|FATAL/.test(line)).slice(-2).join('; ');
}

/** bw reads the model definition as text; Debian's model ships it binary. */
async function textModelDefinition(model: PocketSphinxModel, dir: string, runner: ProcessRunner, signal: AbortSignal | undefined): Promise<string> {
  const source = path.join(model.acousticModel, 'mdef');
  const head = (await readFile(source)).subarray(0, 4).toString('latin1');
  if (head.startsWith('0.3')) return source;
  const out = path.join(dir, 'mdef.txt');
  await tool(runner, ADAPTATION_TOOLS.mdefConvert.path, ['-text', source, out], signal, 'model definition', 0);
  return out;
}

/** bw needs float mixture weights; a PocketSphinx model may only have its quantised sendump. */
async function mixtureWeights(model: PocketSphinxModel, dir: string): Promise<string> {
  const plain = path.join(model.acousticModel, 'mixture_weights');
  if (existsSync(plain)) return plain;
  const out = path.join(dir, 'mixture_weights');
  await writeFile(out, mixtureWeightsFromSendump(await readFile(path.join(model.acousticModel, 'sendump'))));
  return out;
}
