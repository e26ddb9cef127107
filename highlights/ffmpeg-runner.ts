import { spawn } from 'node:child_process';

export class FfmpegError extends Error {
  override readonly name = 'FfmpegError';
}

export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
}

/** Runs ffmpeg/ffprobe children for the highlights pipeline; aborting the signal SIGKILLs the child at once. */
export class FfmpegRunner {
  constructor(
    readonly ffmpeg: string,
    readonly ffprobe: string,
  ) {}

  /** Runs ffmpeg and resolves to its stderr (where the detect filters report). */
  ffmpegRun(args: readonly string[], signal?: AbortSignal): Promise<string> {
    return this.spawnCollect(this.ffmpeg, ['-hide_banner', '-nostdin', ...args], signal).then((out) => out.stderr);
  }

  /** Runs ffprobe and resolves to its stdout. */
  probe(args: readonly string[], signal?: AbortSignal): Promise<string> {
    return this.spawnCollect(this.ffprobe, ['-v', 'error', ...args], signal).then((out) => out.stdout);
  }

  /** Container duration in seconds. */
  async durationS(file: string, signal?: AbortSignal): Promise<number> {
    const out = await this.probe(['-show_entries', 'format=duration', '-of', 'csv=p=0', file], signal);
    const value = Number(out.trim());
    if (!Number.isFinite(value)) throw new FfmpegError(`ffprobe found no duration in ${file}`);
    return value;
  }

  /** The first line of `ffmpeg -version` (for provenance). */
  async version(): Promise<string> {
    const out = await this.spawnCollect(this.ffmpeg, ['-version']);
    return out.stdout.split('\n')[0]!.trim();
  }

  private spawnCollect(command: string, args: readonly string[], signal?: AbortSignal): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new JobCancelledError('cancelled'));
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
      child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      const onAbort = (): void => {
        child.kill('SIGKILL');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(new FfmpegError(`${command} could not start: ${error.message}`));
      });
      child.on('close', (code) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(new JobCancelledError('cancelled'));
        else if (code === 0) resolve({ stdout, stderr });
        else reject(new FfmpegError(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
      });
    });
  }
}
