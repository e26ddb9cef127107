import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createAsrEngine } from '../transforms/subtitles/create-asr-engine.js';
import { transcribeFile, UnreadableMediaError } from '../transforms/subtitles/transcribe-file.js';
import { formatTranscript, TRANSCRIPT_FORMATS, type TranscriptFormat } from '../transforms/subtitles/transcript-formats.js';
import type { CliContext, CliInvocation } from './cli-command.js';
import { commandFromHelp } from './help-options.js';
import { readConfig } from './cli-config.js';
import { CliError, InterruptedError, UsageError } from './cli-errors.js';
import { ProgressBar } from './progress-bar.js';

const HELP = `usage: livefx transcribe <audio-or-video> [--format vtt|srt|json|txt] [-o <out>] [--one-pass] [--quiet]

Transcribes the speech in any file ffmpeg reads with the live captions' streaming engine, faster
than real time, with a progress bar on stderr. PocketSphinx decodes twice: the first pass adapts its
acoustic model to the speaker (an MLLR transform from the file's own speech and first-pass words,
with SphinxTrain's tools), the second gives the transcript; it needs 20 s of speech, and says on
stderr when it could not adapt.

  <audio-or-video>        the media file
  -f, --format <format>   vtt (default), srt, json (words with times and confidence) or txt (one line per utterance)
  -o, --output <file>     write there instead of stdout
      --one-pass          no speaker adaptation: one pass, about half the time
  -q, --quiet             no progress, and no note when the speaker adaptation could not run
  -h, --help              this text

The engine is PocketSphinx (Debian's libpocketsphinx3 and pocketsphinx-en-us); with LIVEFX_ASR_COMMAND
set, that program instead (the command contract in transforms/subtitles/README.md), with PocketSphinx
taking over if it fails for good (LIVEFX_ASR_FALLBACK=none: it fails the run instead).
Exit codes: 0 done, 1 failed (the message says why), 2 wrong command line, 130 interrupted.`;

export const transcribeCommand = commandFromHelp(HELP, runTranscribe, {
  summary: 'transcribe the speech in an audio or video file (WebVTT, SRT, JSON or text)',
  positionals: { min: 1, max: 1, names: ['audio-or-video'] },
});

async function runTranscribe(invocation: CliInvocation, context: CliContext): Promise<number> {
  const { values } = invocation;
  const format = (values.format ?? 'vtt') as string;
  if (!(TRANSCRIPT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${TRANSCRIPT_FORMATS.join(', ')}, got "${format}"`, 'transcribe');
  if (values.output !== undefined && typeof values.output !== 'string') throw new UsageError('--output needs a file', 'transcribe');
  const file = path.resolve(invocation.positionals[0]!);
  if (!existsSync(file)) throw new CliError(`${file} not found`);
  if (!statSync(file).isFile()) throw new CliError(`${file} is not a file`);
  const config = readConfig(context.env);
  // A fallback is reported even with --quiet: the transcript comes from another engine than asked for.
  const engine = createAsrEngine(config, {
    onFallback: ({ from, to, error }) => context.stderr.write(`livefx transcribe: ${from.name} failed (${error.message}); transcribing with ${to.name}\n`),
  });
  const progress = values.quiet === true ? undefined : new ProgressBar({ stream: context.stderr, label: 'transcribe', total: 1 });
  let interrupted = false;
  const onAbort = (): void => {
    interrupted = true;
  };
  context.signal.addEventListener('abort', onAbort, { once: true });
  let text: string;
  try {
    const transcript = await transcribeFile(file, {
      engine,
      ffmpeg: config.LIVEFX_FFMPEG,
      ffprobe: config.LIVEFX_FFPROBE,
      onProgress: (fraction) => progress?.update(fraction),
      adapt: values['one-pass'] !== true,
    });

    // transcribeFile cannot be stopped half-way; a Ctrl-C discards its result (a second one exits at once).
    if (interrupted) throw new InterruptedError();
    progress?.finish(1, `${transcript.words.length} words`);
    if (transcript.adaptation?.applied === false && values.quiet !== true) {
      context.stderr.write(`livefx transcribe: not adapted to the speaker: ${transcript.adaptation.reason}; the transcript is the first pass\n`);
    }
    text = formatTranscript(transcript, format as TranscriptFormat);
  } catch (error) {
    progress?.abandon();
    if (error instanceof InterruptedError || interrupted) throw new InterruptedError();
    if (error instanceof UnreadableMediaError) throw new CliError(error.message);
    throw new CliError(error instanceof Error ? error.message : String(error));
  } finally {
    context.signal.removeEventListener('abort', onAbort);
  }
  if (typeof values.output === 'string') {
    const out = path.resolve(values.output);
    try {
      await writeFile(out, text);
    } catch (error) {
      throw new CliError(`cannot write ${out}: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    context.stdout.write(text);
  }
  return 0;
}
