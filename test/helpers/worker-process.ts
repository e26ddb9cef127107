import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { LIVEFX_BIN } from './cli-run.js';
import { projectRoot, waitFor } from './livefx-process.js';

/** A `livefx …` process that keeps running (worker, workers), with its output kept. */
export interface RunningCli {
  process: ChildProcess;
  output(): string;
  /** Waits until the output matches, or throws with the output so far. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the built CLI (`bin/livefx.js`) with these arguments and environment, as a user would. */
export function startCli(args: string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [LIVEFX_BIN, ...args], { cwd: projectRoot, env: { ...process.env, LIVEFX_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
  return {
    process: child,
    output: () => output,
    waitForOutput: async (pattern, timeoutMs = 30_000) => {
      await waitFor(`${pattern} in the output of livefx ${args.join(' ')}:\n${output}`, () => pattern.test(output) || (child.exitCode !== null ? Promise.reject(new Error(`exited ${child.exitCode}: ${output}`)) : undefined), timeoutMs);
    },
    stop: (signal = 'SIGTERM') =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve(child.exitCode)
        : new Promise((resolve) => {
            child.once('exit', (code) => resolve(code));
            child.kill(signal);
          }),
  };
}

/** `livefx worker` on a data directory and Redis, started and ready to take jobs. */
export async function startWorker(env: Record<string, string>, args: string[] = []): Promise<RunningCli> {
  const worker = startCli(['worker', ...args], env);
  await worker.waitForOutput(/worker ready/);
  return worker;
}

/** Child processes of `pid` (from /proc), e.g. the workers `livefx workers` runs. */
export async function childrenOf(pid: number): Promise<number[]> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return children.split(/\s+/).filter(Boolean).map(Number);
}
