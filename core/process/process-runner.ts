import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { diesWithParent, SETPRIV } from './dies-with-parent.js';

export class FfmpegError extends Error {
  override readonly name = 'FfmpegError';
}

/** A child that stopped making progress and was killed by the watchdog; the job fails with this message. */
export class FfmpegStallError extends FfmpegError {
  constructor(
    readonly stage: string,
    readonly stallS: number,
    detail: string,
  ) {
    super(`highlights stage "${stage}" stopped: ${detail} made no progress for ${stallS} s and was killed`);
  }
}

export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
}

/** What a child is for: the stage names it in errors; the input's length scales how long it may sit without progress. */
export interface RunTask {
  stage: string;
  /** Seconds of media the child reads (0 or absent for a short probe). */
  inputS?: number;
}

export interface FfmpegRunnerOptions {
  /** A child may sit this long without progress, plus STALL_PER_INPUT_S for every second of its input. */
  stallS?: number;
}

/** Default stall limit of a child with no input length (`LIVEFX_HIGHLIGHT_STALL_S`). */
export const DEFAULT_STALL_S = 30;
/** Extra patience per second of input: a keyframes-only pass over an hour may go quiet between sparse keyframes. */
const STALL_PER_INPUT_S = 0.02;
/** How often ffmpeg writes its `-progress` report. */
const PROGRESS_PERIOD_S = 0.5;

/**
 * Runs ffmpeg/ffprobe children for the highlights pipeline. Aborting the signal SIGKILLs the child at
 * once; a watchdog SIGKILLs one that makes no progress (ffmpeg: its `-progress` report on fd 3 stops
 * advancing; ffprobe: no output) for the stall limit, and the run fails naming its stage.
 */
export class FfmpegRunner {
  private readonly stallS: number;

  constructor(
    readonly ffmpeg: string,
    readonly ffprobe: string,
    options: FfmpegRunnerOptions = {},
  ) {
    this.stallS = options.stallS ?? DEFAULT_STALL_S;
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

  private spawnCollect(command: string, args: readonly string[], signal: AbortSignal | undefined, task: RunTask, watch: 'progress' | 'output'): Promise<{ stdout: string; stderr: string }> {
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
      child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
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
        stalled = new FfmpegStallError(task.stage, stallS, `${commandName(command)}${lastReport ? ` (last report ${lastReport})` : ''}`);
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
        reject(new FfmpegError(`${command} could not start (${task.stage}): ${error.message}`));
      });
      child.on('close', (code) => {
        settle();
        if (signal?.aborted) reject(new JobCancelledError('cancelled'));
        else if (stalled) reject(stalled);
        else if (code === 0) resolve({ stdout, stderr });
        // setpriv could not exec it: the same refusal as a spawn error without setpriv.
        else if (code === 127 && program === SETPRIV && /failed to execute/.test(stderr)) reject(new FfmpegError(`${command} could not start (${task.stage}): ${stderr.trim().split('\n').at(-1)}`));
        else reject(new FfmpegError(`${command} (${task.stage}) ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
      });
    });
  }
}

function commandName(command: string): string {
  return command.split('/').pop() ?? command;
}
