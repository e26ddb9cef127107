import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { diesWithParent } from './dies-with-parent.js';

const STDERR_TAIL_BYTES = 4096;
const STDERR_TAIL_LINES = 6;

export interface PipedProcessOptions {
  /** What the process is for, in messages: 'decoder', 'encoder'. */
  role: string;
  command: string;
  args: readonly string[];
  /** 'pipe' to feed it (an encoder), 'ignore' otherwise. */
  stdin: 'pipe' | 'ignore';
  /** Added to this process's environment (an ASR engine's settings). */
  env?: Record<string, string>;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One long-running child with piped stdout/stderr (a render's decoder or encoder, a file's audio
 * decoder, an ASR command engine), started through setpriv so it dies with the thread that started it:
 * the main thread's children die with the server, a pipeline worker's with that worker (which owns its stream).
 * Unlike the live pipeline's SupervisedProcess it is never restarted: a crash fails the run, with the
 * child's last words (`failureMessage`). Start it with ProcessRunner.open(); read its output from
 * `process.stdout`, feed `process.stdin`, and learn of its end from `exited`.
 */
export class PipedProcess {
  readonly process: ChildProcessByStdio<Writable | null, Readable, Readable>;
  /** Resolves once the process is gone (also when it could not be started), never rejects. */
  readonly exited: Promise<ProcessExit>;
  readonly role: string;
  private readonly command: string;
  private stderrTail = '';
  private spawnError: NodeJS.ErrnoException | undefined;
  private exitInfo: ProcessExit | undefined;

  constructor(options: PipedProcessOptions) {
    this.role = options.role;
    this.command = options.command;
    const [program, argv] = diesWithParent(options.command, options.args);
    const env = options.env ? { ...process.env, ...options.env } : process.env;
    this.process = spawn(program, argv, { stdio: [options.stdin, 'pipe', 'pipe'], env }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
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

  /** The last 4 KiB the child wrote to stderr. */
  get stderr(): string {
    return this.stderrTail;
  }

  /** Why spawn failed ('ENOENT', 'EACCES' in its `code`); undefined once the child started. */
  get startError(): NodeJS.ErrnoException | undefined {
    return this.process.pid === undefined ? this.spawnError : undefined;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The program could not be run at all (not installed, not executable), directly or through setpriv. */
  startFailed(exit: ProcessExit): boolean {
    if (this.spawnError && this.process.pid === undefined) return true;
    return exit.code === 127 && /failed to execute/.test(this.stderrTail);
  }

  /** What to tell the user about a failed run: how it ended and the last lines the child wrote. */
  failureMessage(exit: ProcessExit): string {
    const name = this.command.split('/').pop() ?? this.command;
    if (this.startFailed(exit)) return `could not start ${name} for the ${this.role} (${this.command}): ${this.spawnError?.message ?? this.stderrTail.trim().split('\n').at(-1)}`;
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const lines = this.stderrTail.trim().split('\n').slice(-STDERR_TAIL_LINES);
    const tail = lines.join('\n').trim();
    return `${name} (${this.role}) ${how}${tail ? `:\n  ${lines.join('\n  ')}` : ''}`;
  }

  /** Stops the process (SIGKILL: a run that is being abandoned needs no graceful end) and waits until it is reaped. */
  async close(): Promise<void> {
    if (this.running && this.process.pid !== undefined) this.process.kill('SIGKILL');
    await this.exited;
  }
}
