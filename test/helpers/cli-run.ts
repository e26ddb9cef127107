import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from './livefx-process.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  cwd: string;
  /** Added to this process's environment; an empty value unsets the variable (LIVEFX_URL: '' means "no server"). */
  env?: Record<string, string>;
  /** Another way to start it (e.g. `npx livefx`); the built bin/livefx.js by default. */
  command?: string[];
  /** In its own process group, as a terminal's foreground job is (so the group can get a Ctrl-C). */
  detached?: boolean;
  /** Everything written to stderr so far, on each write. */
  onStderr?: (stderr: string, pid: number) => void;
  /** A run that hangs is killed after this long. */
  timeoutMs?: number;
}

export const LIVEFX_BIN = path.join(projectRoot, 'bin', 'livefx.js');

/** Runs the built CLI as a user would: a real process, its output and exit code. */
export function runBuiltCli(args: string[], options: CliRunOptions): Promise<CliRun> {
  const [command, ...prefix] = options.command ?? [process.execPath, LIVEFX_BIN];
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const [key, value] of Object.entries(options.env ?? {})) if (value === '') delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(command!, [...prefix, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 40_000);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      options.onStderr?.(stderr, child.pid!);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
