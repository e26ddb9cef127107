import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { diesWithParent, SETPRIV } from './dies-with-parent.js';
import { PipedProcess, type PipedProcessOptions } from './piped-process.js';

/** Why a child failed: `stderr` and `exitCode` let a caller word its own message (an import names the user's file). */
export class FfmpegError extends Error {
  override readonly name: string = 'FfmpegError';
  /** What the child wrote to stderr, up to its last 64 KiB ('' when it never started). */
  readonly stderr: string;
  /** null when it was killed or never started. */
  readonly exitCode: number | null;
  /** The program could not be run at all (not installed, not executable). */
  readonly startFailed: boolean;

  constructor(message: string, details: { stderr?: string; exitCode?: number | null; startFailed?: boolean } = {}) {
    super(message);
    this.stderr = details.stderr ?? '';
    this.exitCode = details.exitCode ?? null;
    this.startFailed = details.startFailed ?? false;
  }
}

/** A child that stopped making progress and was killed by the watchdog; the job fails with this message. */
export class FfmpegStallError extends FfmpegError {
  override readonly name = 'FfmpegStallError';
  constructor(
    readonly stage: string,
    readonly stallS: number,
    detail: string,
    label = 'ffmpeg',
  ) {
    super(`${label} stage "${stage}" stopped: ${detail} made no progress for ${stallS} s and was killed`);
  }
}

/** The run's AbortSignal fired: the child was SIGKILLed. */
export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
}

/** What a child is for: the stage names it in errors; the input's length scales how long it may sit without progress. */
export interface RunTask {
  stage: string;
  /** Seconds of media the child reads (0 or absent for a short probe). */
  inputS?: number;
}

export interface RunOutput {
  stdout: string;
  stderr: string;
}

export interface ProcessRunnerOptions {
  /** Defaults: `ffmpeg` and `ffprobe` from PATH. */
  ffmpeg?: string;
  ffprobe?: string;
  /** A child may sit this long without progress, plus STALL_PER_INPUT_S for every second of its input. */
  stallS?: number;
  /** Who runs the children, first word of a stall error: 'highlights', 'recorder', 'render'. */
  label?: string;
}

/** Default stall limit of a child with no input length (`LIVEFX_HIGHLIGHT_STALL_S` for highlights). */
export const DEFAULT_STALL_S = 30;
/** Extra patience per second of input: a keyframes-only pass over an hour may go quiet between sparse keyframes. */
const STALL_PER_INPUT_S = 0.02;
/** How often ffmpeg writes its `-progress` report. */
const PROGRESS_PERIOD_S = 0.5;
/** stderr kept per child: enough for ffmpeg's last words, bounded for a chatty one. */
const STDERR_KEEP_CHARS = 64 * 1024;
const STDERR_TAIL_LINES = 5;

/**
 * The one way the main thread (recorder, highlights, CLI, studio) starts ffmpeg/ffprobe or any other
 * one-shot tool. Every child is started with an argument array (no shell) through `setpriv --pdeathsig
 * KILL`, so it dies with this process even on kill -9. API:
 * - `ffmpegRun(args, signal, task)`: ffmpeg with a `-progress` report; resolves to its stderr.
 * - `probe(args, signal, task)`: ffprobe (`-v error` added); resolves to its stdout. `durationS(file, …)` on top.
 * - `run(command, args, signal, task)`: any other one-shot program; resolves to `{ stdout, stderr }`.
 * - `open({ role, command, args, stdin })`: a long-running child with piped stdio (a render's decoder or encoder).
 * Aborting `signal` SIGKILLs the child at once and rejects with JobCancelledError. A watchdog SIGKILLs a
 * child that makes no progress (ffmpeg: its `-progress` report on fd 3 stops advancing; others: no
 * output) for the stall limit, rejecting with FfmpegStallError naming the stage. Any other failure
 * rejects with FfmpegError carrying the exit code and the tail of stderr.
 */
export class ProcessRunner {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  private readonly stallS: number;
  private readonly label: string;

  constructor(options: ProcessRunnerOptions = {}) {
    this.ffmpeg = options.ffmpeg ?? 'ffmpeg';
    this.ffprobe = options.ffprobe ?? 'ffprobe';
    this.stallS = options.stallS ?? DEFAULT_STALL_S;
    this.label = options.label ?? 'ffmpeg';
  }

  /** How long a child of this task may go without progress. */
  stallLimitS(task: RunTask): number {
    return Math.round((this.stallS + STALL_PER_INPUT_S * (task.inputS ?? 0)) * 10) / 10;
  }

  /** Runs ffmpeg and resolves to its stderr (where the detect filters report). */
  ffmpegRun(args: readonly string[], signal: AbortSignal | undefined, task: RunTask): Promise<string> {
    const withProgress = ['-hide_banner', '-nostdin', '-progress', 'pipe:3', '-stats_period', String(PROGRESS_PERIOD_S), ...args];
    return this.spawnCollect(this.ffmpeg, withProgress, signal, task, 'progress').then((out) => out.stderr);
  }

  /** Runs ffprobe and resolves to its stdout. */
  probe(args: readonly string[], signal: AbortSignal | undefined, task: RunTask): Promise<string> {
    return this.spawnCollect(this.ffprobe, ['-v', 'error', ...args], signal, task, 'output').then((out) => out.stdout);
  }

  /** Runs any other one-shot program; output on stdout or stderr counts as progress. */
  run(command: string, args: readonly string[], signal: AbortSignal | undefined, task: RunTask): Promise<RunOutput> {
    return this.spawnCollect(command, args, signal, task, 'output');
  }

  /** Starts a long-running child with piped stdio, which dies with this process; it is never restarted. */
  open(options: PipedProcessOptions): PipedProcess {
    return new PipedProcess(options);
  }

  /** Container duration in seconds. */
  async durationS(file: string, signal: AbortSignal | undefined, stage: string): Promise<number> {
    const out = await this.probe(['-show_entries', 'format=duration', '-of', 'csv=p=0', file], signal, { stage });
    const value = Number(out.trim());
    if (!Number.isFinite(value)) throw new FfmpegError(`ffprobe found no duration in ${file}`);
    return value;
  }

  /** The first line of `ffmpeg -version` (for provenance). */
  async version(): Promise<string> {
    const out = await this.spawnCollect(this.ffmpeg, ['-version'], undefined, { stage: 'ffmpeg version' }, 'output');
    return out.stdout.split('\n')[0]!.trim();
  }

  private spawnCollect(command: string, args: readonly string[], signal: AbortSignal | undefined, task: RunTask, watch: 'progress' | 'output'): Promise<RunOutput> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new JobCancelledError('cancelled'));
      const [program, argv] = diesWithParent(command, args);
      const child = spawn(program, argv, { stdio: ['ignore', 'pipe', 'pipe', watch === 'progress' ? 'pipe' : 'ignore'] });
      const stallS = this.stallLimitS(task);
      let stdout = '';
      let stderr = '';
      let stalled: FfmpegStallError | undefined;
      let lastProgress = performance.now();
      let lastReport = '';
      const alive = (): void => {
        lastProgress = performance.now();
      };
      child.stdout!.setEncoding('utf8').on('data', (text: string) => {
        stdout += text;
        if (watch === 'output') alive();
      });
      child.stderr!.setEncoding('utf8').on('data', (text: string) => {
        stderr = stderr.length + text.length > STDERR_KEEP_CHARS ? (stderr + text).slice(-STDERR_KEEP_CHARS) : stderr + text;
        if (watch === 'output') alive();
      });
      const progressPipe = child.stdio[3] as Readable | null;
      if (progressPipe) {
        // A report counts as progress only when the output time or frame count moved (a stuck ffmpeg may repeat itself).
        let pending = '';
        progressPipe.setEncoding('utf8').on('data', (text: string) => {
          pending += text;
          let end: number;
          while ((end = pending.indexOf('progress=')) >= 0) {
            const lineEnd = pending.indexOf('\n', end);
            if (lineEnd < 0) break;
            const report = pending.slice(0, end).split('\n').filter((line) => /^(frame|out_time_us|total_size)=/.test(line)).join(',');
            pending = pending.slice(lineEnd + 1);
            if (report !== lastReport) {
              lastReport = report;
              alive();
            }
          }
        });
      }
      const watchdog = setInterval(() => {
        if (performance.now() - lastProgress < stallS * 1000) return;
        stalled = new FfmpegStallError(task.stage, stallS, `${commandName(command)}${lastReport ? ` (last report ${lastReport})` : ''}`, this.label);
        child.kill('SIGKILL');
      }, Math.min(1000, (stallS * 1000) / 4));
      const onAbort = (): void => {
        child.kill('SIGKILL');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => {
        clearInterval(watchdog);
        signal?.removeEventListener('abort', onAbort);
      };
      child.on('error', (error) => {
        settle();
        reject(new FfmpegError(`${command} could not start (${task.stage}): ${error.message}`, { startFailed: true }));
      });
      child.on('close', (code) => {
        settle();
        if (signal?.aborted) reject(new JobCancelledError('cancelled'));
        else if (stalled) reject(stalled);
        else if (code === 0) resolve({ stdout, stderr });
        // setpriv could not exec it: the same refusal as a spawn error without setpriv.
        else if (code === 127 && program === SETPRIV && /failed to execute/.test(stderr)) reject(new FfmpegError(`${command} could not start (${task.stage}): ${stderr.trim().split('\n').at(-1)}`, { startFailed: true }));
        else reject(new FfmpegError(`${command} (${task.stage}) ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-STDERR_TAIL_LINES).join(' | ')}`, { stderr: stderr.trim(), exitCode: code }));
      });
    });
  }
}

function commandName(command: string): string {
  return command.split('/').pop() ?? command;
}
