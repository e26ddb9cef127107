import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { TypedEmitter } from '../../../../core/typed-emitter.js';
import type { AsrResult, AsrStream, AsrStreamEvents, AsrWord } from '../../asr-engine.js';
import { AsrError } from '../../asr-error.js';
import { PcmResampler } from '../../pcm-resampler.js';

/** The rate the command contract fixes for stdin. */
export const COMMAND_SAMPLE_RATE = 16000;
const STDERR_TAIL_BYTES = 2048;
const HIGH_WATER_BYTES = 2 * COMMAND_SAMPLE_RATE * 2;

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
  command: string;
  args: string[];
  env: Record<string, string>;
  sampleRate: number;
  /** end() waits this long for the engine to flush and exit. */
  endTimeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  killTimeoutMs: number;
}

/**
 * One stream through an external engine process: PCM to its stdin, JSON lines from its stdout.
 * Its death before end() is an `error` (retryable); close() kills it and waits until it is reaped.
 */
export class CommandStream extends TypedEmitter<AsrStreamEvents> implements AsrStream {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly resampler: PcmResampler;
  private readonly exitedPromise: Promise<void>;
  private isClosed = false;
  private ended = false;
  private stderrTail = '';
  private bytesWritten = 0;
  private lastWordEndMs = 0;
  private endPromise: Promise<void> | undefined;
  private ending: { resolve: () => void; reject: (error: AsrError) => void; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly settings: CommandStreamSettings) {
    super();
    this.resampler = new PcmResampler(settings.sampleRate, COMMAND_SAMPLE_RATE);
    this.child = spawn(settings.command, settings.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...settings.env, LIVEFX_ASR_SAMPLE_RATE: String(COMMAND_SAMPLE_RATE) },
    });
    this.exitedPromise = new Promise((resolve) => {
      this.child.once('close', () => resolve());
      // A program that never started has nothing to wait for.
      this.child.once('error', () => {
        if (this.child.pid === undefined) resolve();
      });
    });
    this.child.stdin.on('error', () => {}); // EPIPE from a dead engine; its exit is reported instead.
    this.child.stdin.on('drain', () => {
      if (!this.isClosed) this.safeEmit('drain');
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    this.child.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      const unavailable = code === 'ENOENT' || code === 'EACCES';
      this.fail(new AsrError(unavailable ? 'engine_unavailable' : 'engine_crashed', `ASR command ${settings.command} could not run: ${error.message}`, !unavailable));
    });
    // 'close' comes after stdout is drained, so every line the engine wrote has been handled.
    this.child.on('close', (code, signal) => this.onClose(code, signal));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  write(pcm: Int16Array): boolean {
    if (this.isClosed || this.ended) return false;
    const samples = this.resampler.process(pcm);
    // Copied: the caller may reuse its buffer while ours waits in the pipe.
    const bytes = Buffer.from(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    this.bytesWritten += bytes.length;
    const room = this.child.stdin.write(bytes);
    return room && this.child.stdin.writableLength < HIGH_WATER_BYTES;
  }

  end(): Promise<void> {
    if (this.endPromise) return this.endPromise;
    if (this.isClosed) return Promise.reject(new AsrError('engine_failed', 'the ASR command stream is closed', false));
    this.ended = true;
    this.endPromise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new AsrError('timeout', `ASR command ${this.settings.command} did not exit within ${this.settings.endTimeoutMs} ms of the end of its input`, true));
      }, this.settings.endTimeoutMs);
      this.ending = { resolve, reject, timer };
    });
    this.child.stdin.end();
    return this.endPromise;
  }

  cancel(): void {
    // The contract has no cancel message: a stream that must drop its utterance is reopened by the caller.
  }

  async close(): Promise<void> {
    if (!this.isClosed) {
      this.isClosed = true;
      this.removeAllListeners();
      if (this.ending) {
        clearTimeout(this.ending.timer);
        this.ending.resolve();
        this.ending = undefined;
      }
      if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
        const killTimer = setTimeout(() => this.child.kill('SIGKILL'), this.settings.killTimeoutMs);
        this.child.stdin.destroy();
        this.child.kill('SIGTERM');
        await this.exitedPromise;
        clearTimeout(killTimer);
      }
    }
    return this.exitedPromise;
  }

  private onLine(line: string): void {
    if (this.isClosed || line.trim() === '') return;
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
    this.safeEmit(parsed.type, result);
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
    const nowMs = (this.bytesWritten / 2 / COMMAND_SAMPLE_RATE) * 1000;
    const startMs = Math.min(this.lastWordEndMs, nowMs);
    const each = (nowMs - startMs) / Math.max(1, plain.length);
    return {
      text: plain.join(' '),
      words: plain.map((word, index) => ({ word, startMs: Math.round(startMs + index * each), endMs: Math.round(startMs + (index + 1) * each) })),
    };
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.isClosed) return;
    const stderr = this.stderrTail.trim();
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const detail = stderr ? `: ${stderr.split('\n').slice(-5).join(' | ')}` : '';
    if (this.ended && code === 0) {
      const ending = this.ending;
      this.ending = undefined;
      void this.close();
      if (ending) {
        clearTimeout(ending.timer);
        ending.resolve();
      }
      return;
    }
    if (this.ended) this.fail(new AsrError('engine_failed', `ASR command ${this.settings.command} ${how} at the end of its input${detail}`, true));
    else this.fail(new AsrError('engine_crashed', `ASR command ${this.settings.command} ${how} mid-stream${detail}`, true));
  }

  private fail(error: AsrError): void {
    if (this.isClosed) return;
    const ending = this.ending;
    this.ending = undefined;
    this.safeEmit('error', error);
    void this.close();
    if (ending) {
      clearTimeout(ending.timer);
      ending.reject(error);
    }
  }
}
