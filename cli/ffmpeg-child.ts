import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { CliError } from './cli-errors.js';

const STDERR_TAIL_BYTES = 4096;
const STDERR_TAIL_LINES = 6;

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One ffmpeg run of a render (the decoder or the encoder). Unlike the live pipeline's
 * SupervisedProcess it is never restarted: a crash fails the render, with ffmpeg's last words.
 */
export class FfmpegChild {
  readonly process: ChildProcessByStdio<Writable | null, Readable, Readable>;
  /** Resolves once the process is gone (also when it could not be started), never rejects. */
  readonly exited: Promise<FfmpegExit>;
  private stderrTail = '';
  private spawnError: Error | undefined;
  private exitInfo: FfmpegExit | undefined;

  constructor(
    /** What the process is for, in messages: 'decoder', 'encoder'. */
    readonly role: string,
    private readonly command: string,
    args: string[],
    stdin: 'pipe' | 'ignore',
  ) {
    this.process = spawn(command, args, { stdio: [stdin, 'pipe', 'pipe'] }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
    this.process.stderr.setEncoding('utf8');
    this.process.stderr.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    // A dead encoder's stdin answers EPIPE; the exit is what reports the failure.
    this.process.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.process.on('error', (error) => {
        this.spawnError = error;
        // A process that never started emits no 'close'.
        if (this.process.pid === undefined) resolve((this.exitInfo = { code: null, signal: null }));
      });
      this.process.on('close', (code, signal) => resolve((this.exitInfo = { code, signal })));
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The error to report for a failed run: how it ended and the last lines ffmpeg wrote. */
  failure(exit: FfmpegExit): CliError {
    if (this.spawnError && this.process.pid === undefined) {
      return new CliError(`could not start ffmpeg for the ${this.role} (${this.command}): ${this.spawnError.message}; set LIVEFX_FFMPEG to the ffmpeg binary`);
    }
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const lines = this.stderrTail.trim().split('\n').slice(-STDERR_TAIL_LINES);
    const tail = lines.join('\n').trim();
    return new CliError(`ffmpeg (${this.role}) ${how}${tail ? `:\n  ${lines.join('\n  ')}` : ''}`);
  }

  /** Stops the process (SIGKILL: a render that is being abandoned needs no graceful end) and waits until it is reaped. */
  async close(): Promise<void> {
    if (this.running && this.process.pid !== undefined) this.process.kill('SIGKILL');
    await this.exited;
  }
}
