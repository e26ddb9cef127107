import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { SETPRIV } from '../../../../core/process/dies-with-parent.js';
import type { PipedProcess, ProcessExit } from '../../../../core/process/piped-process.js';
import type { ProcessRunner } from '../../../../core/process/process-runner.js';
import type { AsrResult, AsrWord } from '../../asr-engine.js';
import { AsrError } from '../../asr-error.js';
import { AsrStreamBase } from '../../asr-stream-base.js';

/** The rate the command contract fixes for stdin. */
export const COMMAND_SAMPLE_RATE = 16000;

/** One line of the engine's stdout (see transforms/subtitles/README.md). */
const commandLine = z.discriminatedUnion('type', [
  z.object({
    type: z.enum(['partial', 'final']),
    text: z.string(),
    words: z
      .array(z.object({ word: z.string().min(1), start: z.number().nonnegative(), end: z.number().nonnegative(), conf: z.number().min(0).max(1).optional() }))
      .optional(),
  }),
  z.object({ type: z.literal('error'), message: z.string(), retryable: z.boolean().optional() }),
]);

export interface CommandStreamSettings {
  /** Starts the engine process (ProcessRunner.open), so it is launched like every other child. */
  runner: ProcessRunner;
  command: string;
  args: string[];
  env: Record<string, string>;
  sampleRate: number;
  /** end() waits this long for the engine to flush and exit. */
  endTimeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  killTimeoutMs: number;
}

/** setpriv's exit codes when it cannot exec the command (util-linux: 127 not found, 126 any other reason). */
const EXEC_FAILED_CODES = new Set([126, 127]);

/**
 * One stream through an external engine process: PCM to its stdin, JSON lines from its stdout.
 * Its death before end() is an `error` (retryable); close() kills it and waits until it is reaped.
 * The process dies with the thread that started it (setpriv --pdeathsig): in the live pipeline that is
 * the stream's worker thread, which owns it, so a crashed worker or server leaves no engine behind.
 */
export class CommandStream extends AsrStreamBase {
  private readonly engine: PipedProcess;
  private readonly stdin: Writable;
  private lastWordEndMs = 0;

  constructor(private readonly settings: CommandStreamSettings) {
    super({ sampleRate: settings.sampleRate, engineSampleRate: COMMAND_SAMPLE_RATE, label: `ASR command ${settings.command}`, endTimeoutMs: settings.endTimeoutMs });
    this.engine = settings.runner.open({
      role: 'ASR engine',
      command: settings.command,
      args: settings.args,
      stdin: 'pipe',
      env: { ...settings.env, LIVEFX_ASR_SAMPLE_RATE: String(COMMAND_SAMPLE_RATE) },
    });
    this.stdin = this.engine.process.stdin!;
    this.stdin.on('drain', () => this.engineDrained());
    createInterface({ input: this.engine.process.stdout, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    // `exited` settles after 'close', which comes after stdout is drained, so every line the engine wrote has been handled.
    void this.engine.exited.then((exit) => this.onExit(exit));
  }

  get pid(): number | undefined {
    return this.engine.process.pid;
  }

  protected override get pendingSamples(): number {
    return this.stdin.writableLength / 2;
  }

  protected feed(samples: Int16Array): boolean {
    // Copied: the caller may reuse its buffer while ours waits in the pipe.
    return this.stdin.write(Buffer.from(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)));
  }

  protected finishInput(): void {
    this.stdin.end();
  }

  protected dropUtterance(): void {
    // The contract has no cancel message: a stream that must drop its utterance is reopened by the caller.
  }

  protected async release(): Promise<void> {
    const child = this.engine.process;
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      // SIGTERM first (PipedProcess.close() kills at once): an engine may flush or free a model.
      const killTimer = setTimeout(() => child.kill('SIGKILL'), this.settings.killTimeoutMs);
      this.stdin.destroy();
      child.kill('SIGTERM');
      await this.engine.exited;
      clearTimeout(killTimer);
    }
    await this.engine.exited;
  }

  private onLine(line: string): void {
    if (this.closed || line.trim() === '') return;
    let parsed: z.infer<typeof commandLine>;
    try {
      const result = commandLine.safeParse(JSON.parse(line));
      if (!result.success) throw new Error(result.error.issues.map((issue) => `${issue.path.join('.') || 'line'}: ${issue.message}`).join('; '));
      parsed = result.data;
    } catch (error) {
      this.fail(new AsrError('protocol_error', `ASR command ${this.settings.command} wrote a line outside the contract (${error instanceof Error ? error.message : String(error)}): ${line.slice(0, 200)}`, false));
      return;
    }
    if (parsed.type === 'error') {
      this.fail(new AsrError('engine_failed', `ASR command ${this.settings.command} reported: ${parsed.message}`, parsed.retryable ?? true));
      return;
    }
    const result = this.toResult(parsed.text, parsed.words);
    if (parsed.type === 'final' && result.words.length > 0) this.lastWordEndMs = result.words[result.words.length - 1]!.endMs;
    this.emitResult(parsed.type, result);
  }

  private toResult(text: string, words: { word: string; start: number; end: number; conf?: number | undefined }[] | undefined): AsrResult {
    if (words) {
      const timed: AsrWord[] = words.map((word) => ({
        word: word.word,
        startMs: Math.round(word.start * 1000),
        endMs: Math.round(Math.max(word.start, word.end) * 1000),
        ...(word.conf !== undefined ? { conf: word.conf } : {}),
      }));
      return { text: text.trim() || timed.map((word) => word.word).join(' '), words: timed };
    }
    // An engine without word times: its words share the audio since the last final.
    const plain = text.trim().split(/\s+/).filter((word) => word !== '');
    const nowMs = (this.samplesWritten / COMMAND_SAMPLE_RATE) * 1000;
    const startMs = Math.min(this.lastWordEndMs, nowMs);
    const each = (nowMs - startMs) / Math.max(1, plain.length);
    return {
      text: plain.join(' '),
      words: plain.map((word, index) => ({ word, startMs: Math.round(startMs + index * each), endMs: Math.round(startMs + (index + 1) * each) })),
    };
  }

  private onExit({ code, signal }: ProcessExit): void {
    if (this.closed) return;
    const startError = this.engine.startError;
    if (startError) {
      const unavailable = startError.code === 'ENOENT' || startError.code === 'EACCES';
      this.fail(new AsrError(unavailable ? 'engine_unavailable' : 'engine_crashed', `ASR command ${this.settings.command} could not run: ${startError.message}`, !unavailable));
      return;
    }
    const stderr = this.engine.stderr.trim();
    if (SETPRIV !== undefined && code !== null && EXEC_FAILED_CODES.has(code) && /failed to execute/.test(stderr)) {
      // setpriv started but could not exec the engine: the same as spawn's ENOENT/EACCES without it.
      this.fail(new AsrError('engine_unavailable', `ASR command ${this.settings.command} could not run: ${stderr.split('\n').at(-1)}`, false));
      return;
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const detail = stderr ? `: ${stderr.split('\n').slice(-5).join(' | ')}` : '';
    if (this.inputEnded && code === 0) {
      this.finished();
      return;
    }
    if (this.inputEnded) this.fail(new AsrError('engine_failed', `ASR command ${this.settings.command} ${how} at the end of its input${detail}`, true));
    else this.fail(new AsrError('engine_crashed', `ASR command ${this.settings.command} ${how} mid-stream${detail}`, true));
  }
}
