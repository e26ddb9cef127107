import { z } from 'zod';
import { FfmpegError, JobCancelledError, ProcessRunner } from '../../core/process/process-runner.js';
import { adaptationSpan, isSpeakerAdaptable, type AdaptationSample, type AdaptedAsrEngine, type AsrEngine, type AsrResult, type AsrStream } from './asr-engine.js';
import { CaptionLayout, type CaptionCue, type CaptionLayoutOptions } from './caption-layout.js';
import type { Transcript, TranscriptAdaptation } from './transcript-formats.js';

const SAMPLE_RATE = 16000;
const CHUNK_SAMPLES = SAMPLE_RATE / 10;

export interface TranscribeFileOptions {
  engine: AsrEngine;
  /** 0..1, called as the audio is decoded, and with 1 at the end. */
  onProgress?: (fraction: number) => void;
  /** Ignored when `runner` is given (its ffmpeg and ffprobe are used). */
  ffmpeg?: string;
  ffprobe?: string;
  /** Starts the probe and the decoder; default: a runner of its own with `ffmpeg`/`ffprobe`. */
  runner?: ProcessRunner;
  layout?: CaptionLayoutOptions;
  /** Stops the decoder and the engine; transcribeFile then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Adapt an adaptable engine to the speaker and decode a second time (default true). */
  adapt?: boolean;
}

/** The file could not be read or decoded; the message names the file and ffmpeg's reason. */
export class UnreadableMediaError extends Error {
  override readonly name = 'UnreadableMediaError';

  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot read ${file}: ${reason}`);
  }
}

const probeOutput = z.object({
  format: z.object({ duration: z.string().optional() }).optional(),
  streams: z.array(z.object({ codec_type: z.string().optional() })).optional(),
});

/** ffmpeg's last words, without its "[mp3 @ 0x…]" tags and the file name it repeats. */
function reasonFrom(stderr: string, file: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .map((line) => line.trim().replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/, ''))
    .map((line) => (line.startsWith(`${file}: `) ? line.slice(file.length + 2) : line))
    .filter((line) => line !== '');
  return lines.slice(-2).join('; ') || 'ffmpeg gave no reason';
}

/** Duration in ms (0 when the container does not say); throws UnreadableMediaError for no file or no audio. */
async function probe(file: string, runner: ProcessRunner, signal: AbortSignal | undefined): Promise<number> {
  let stdout: string;
  try {
    stdout = await runner.probe(['-show_entries', 'format=duration:stream=codec_type', '-of', 'json', file], signal, { stage: 'transcription probe' });
  } catch (error) {
    if (error instanceof JobCancelledError && signal) throw abortReason(signal);
    if (error instanceof FfmpegError && error.startFailed) throw new Error(`cannot run ${runner.ffprobe}: ${error.message}`, { cause: error });
    if (error instanceof FfmpegError && error.exitCode !== null) throw new UnreadableMediaError(file, reasonFrom(error.stderr, file));
    throw error;
  }
  let output: unknown;
  try {
    output = JSON.parse(stdout || '{}');
  } catch {
    throw new UnreadableMediaError(file, 'ffprobe gave no readable answer');
  }
  const parsed = probeOutput.safeParse(output);
  if (!parsed.success) throw new UnreadableMediaError(file, 'ffprobe said something unexpected');
  if (!parsed.data.streams?.some((stream) => stream.codec_type === 'audio')) throw new UnreadableMediaError(file, 'it has no audio stream');
  const seconds = Number(parsed.data.format?.duration);
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
}

/** Audio of the first pass kept for adaptation: the first 15 minutes (29 MB) at most. */
const MAX_KEPT_SAMPLES = 15 * 60 * SAMPLE_RATE;

interface Pass {
  utterances: AsrResult[];
  cues: CaptionCue[];
}

/**
 * Runs a streaming engine over a whole file, as fast as the engine takes the audio: ffmpeg decodes
 * any audio or video to s16le 16 kHz mono, fed in 100 ms chunks with back-pressure. An engine that
 * can adapt to a speaker (PocketSphinx) decodes twice: the first pass's words and audio adapt its
 * acoustic model, the second pass gives the transcript; `adapt: false` keeps one pass. When
 * adaptation cannot run, the first pass is the transcript and `adaptation.reason` says why.
 */
export async function transcribeFile(file: string, options: TranscribeFileOptions): Promise<Transcript> {
  const runner = options.runner ?? new ProcessRunner({ ...(options.ffmpeg ? { ffmpeg: options.ffmpeg } : {}), ...(options.ffprobe ? { ffprobe: options.ffprobe } : {}), label: 'transcription' });
  const durationMs = await probe(file, runner, options.signal);
  const engine = options.engine;
  const adaptable = options.adapt !== false && isSpeakerAdaptable(engine) ? engine : undefined;
  const kept: Int16Array[] = [];
  let keptSamples = 0;
  const keep = (pcm: Int16Array): void => {
    if (keptSamples >= MAX_KEPT_SAMPLES) return;
    kept.push(pcm.slice(0, MAX_KEPT_SAMPLES - keptSamples));
    keptSamples += kept.at(-1)!.length;
  };
  const firstShare = adaptable ? 0.5 : 1;
  const first = await decodePass(file, engine, durationMs, runner, options, { from: 0, share: firstShare, ...(adaptable ? { keep } : {}) });
  let result = first;
  let used: AsrEngine = engine;
  let adaptation: TranscriptAdaptation | undefined;
  if (adaptable) {
    const samples = adaptationSamples(first.utterances, kept, keptSamples);
    kept.length = 0;
    let adapted: AdaptedAsrEngine | undefined;
    try {
      adapted = await adaptable.adaptTo(samples, { runner, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (error) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      adaptation = { applied: false, reason: error instanceof Error ? error.message : String(error) };
    }
    if (adapted) {
      try {
        result = await decodePass(file, adapted, durationMs, runner, options, { from: firstShare, share: 1 - firstShare });
        used = adapted;
        adaptation = { applied: true, speechS: adapted.speechS };
      } catch (error) {
        if (options.signal?.aborted) throw abortReason(options.signal);
        // The first pass stands: a failed second pass costs the adaptation, not the transcript.
        adaptation = { applied: false, reason: `the adapted pass failed: ${error instanceof Error ? error.message : String(error)}` };
      } finally {
        await adapted.dispose();
      }
    }
  }
  options.onProgress?.(1);
  return {
    file,
    durationMs,
    engine: { name: used.name, version: used.version },
    utterances: result.utterances,
    words: result.utterances.flatMap((utterance) => utterance.words),
    cues: result.cues,
    maskProfanity: options.layout?.maskProfanity ?? false,
    ...(adaptation ? { adaptation } : {}),
  };
}

/** Each first-pass utterance's audio (from its first word to its last, with margins) and words. */
function adaptationSamples(utterances: readonly AsrResult[], kept: readonly Int16Array[], keptSamples: number): AdaptationSample[] {
  const audio = new Int16Array(keptSamples);
  let at = 0;
  for (const chunk of kept) {
    audio.set(chunk, at);
    at += chunk.length;
  }
  const samples: AdaptationSample[] = [];
  for (const utterance of utterances) {
    const span = adaptationSpan(utterance, SAMPLE_RATE);
    if (!span) continue;
    const end = Math.min(audio.length, span.end);
    if (end <= span.start) continue;
    samples.push({ pcm: audio.subarray(span.start, end), words: utterance.words.map((word) => word.word) });
  }
  return samples;
}

interface PassProgress {
  /** The part of the whole run this pass is: progress goes from `from` to `from + share`. */
  from: number;
  share: number;
  /** Sees every chunk of audio fed (the first pass keeps it for adaptation). */
  keep?: (pcm: Int16Array) => void;
}

async function decodePass(file: string, engine: AsrEngine, durationMs: number, runner: ProcessRunner, options: TranscribeFileOptions, progress: PassProgress): Promise<Pass> {
  const stream = engine.open({ sampleRate: SAMPLE_RATE });
  const utterances: AsrResult[] = [];
  const layout = new CaptionLayout(options.layout);
  const cues = new Map<number, CaptionCue>();
  const keep = (changed: CaptionCue[]): void => {
    for (const cue of changed) {
      if (cue.lines.length === 0) cues.delete(cue.id);
      else cues.set(cue.id, cue);
    }
  };
  stream.on('final', (result) => {
    utterances.push(result);
    keep(layout.push('final', result));
  });
  try {
    await feed(file, stream, durationMs, runner, options, progress);
    await stream.end();
  } catch (error) {
    await stream.close();
    if (error instanceof UnreadableMediaError) throw error;
    throw new Error(`transcribing ${file} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  keep(layout.finish());
  return { utterances, cues: [...cues.values()].sort((a, b) => a.id - b.id) };
}

function feed(file: string, stream: AsrStream, durationMs: number, runner: ProcessRunner, options: TranscribeFileOptions, progress: PassProgress): Promise<void> {
  return new Promise((resolve, reject) => {
    // The decoder dies with this process (a server killed mid-transcription leaves no ffmpeg behind).
    const decoder = runner.open({
      role: 'decoder',
      command: runner.ffmpeg,
      args: ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-vn', '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 's16le', 'pipe:1'],
      stdin: 'ignore',
    });
    const output = decoder.process.stdout;
    // An aligned buffer of our own: pipe chunks may start at odd byte offsets.
    const chunk = new Int16Array(CHUNK_SAMPLES);
    const chunkBytes = new Uint8Array(chunk.buffer);
    let filled = 0;
    let samples = 0;
    let reported = 0;
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      void decoder.close();
      reject(error);
    };
    stream.once('error', (error) => fail(error));
    if (options.signal?.aborted) fail(abortReason(options.signal));
    options.signal?.addEventListener('abort', () => fail(abortReason(options.signal!)), { once: true });
    stream.on('drain', () => output.resume());
    const push = (view: Int16Array): void => {
      samples += view.length;
      progress.keep?.(view);
      if (!stream.write(view)) output.pause();
      const fraction = durationMs > 0 ? Math.min(0.99, (samples / SAMPLE_RATE) * 1000 / durationMs) : 0;
      // Progress in steps of 1 %, so a caller drawing a bar is not called 10 times per second of audio.
      if (fraction - reported >= 0.01) {
        reported = fraction;
        options.onProgress?.(Math.min(0.99, progress.from + fraction * progress.share));
      }
    };
    output.on('data', (data: Buffer) => {
      let offset = 0;
      while (offset < data.length) {
        const take = Math.min(chunkBytes.length - filled, data.length - offset);
        chunkBytes.set(data.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === chunkBytes.length) {
          push(chunk);
          filled = 0;
        }
      }
    });
    // `exited` settles after 'close', so every decoded byte has been pushed.
    void decoder.exited.then((exit) => {
      if (failed) return;
      if (decoder.startFailed(exit)) {
        fail(new Error(`cannot run ffmpeg: ${decoder.failureMessage(exit)}`));
        return;
      }
      if (exit.code !== 0) {
        fail(new UnreadableMediaError(file, exit.signal ? `ffmpeg was killed by ${exit.signal}` : reasonFrom(decoder.stderr, file)));
        return;
      }
      const whole = filled - (filled % 2);
      if (whole > 0) push(chunk.subarray(0, whole / 2));
      resolve();
    });
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('transcription cancelled');
}
