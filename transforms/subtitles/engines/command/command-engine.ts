import { ProcessRunner } from '../../../../core/process/process-runner.js';
import type { AsrEngine, AsrOpenOptions } from '../../asr-engine.js';
import { CommandStream } from './command-stream.js';

export interface CommandEngineOptions {
  /** The program to run (no shell), e.g. a whisper.cpp, Vosk or cloud bridge speaking the contract in README.md. */
  command: string;
  args?: string[];
  /** Extra environment for the process. */
  env?: Record<string, string>;
  /** Shown in logs and stats; defaults to the command's file name. */
  name?: string;
  version?: string;
  /** How long end() waits for the engine to flush its last final and exit (default 10 s). */
  endTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL on close() (default 2 s). */
  killTimeoutMs?: number;
  /** Starts the engine processes (default: a runner of its own). */
  runner?: ProcessRunner;
}

/**
 * Splits a command setting such as LIVEFX_ASR_COMMAND ("bridge --model 'small en'") into program and
 * arguments: whitespace separates, single or double quotes group, no other shell syntax.
 */
export function parseCommandLine(text: string): { command: string; args: string[] } {
  const parts: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of text.matchAll(pattern)) parts.push(match[1] ?? match[2] ?? match[3]!);
  const [command, ...args] = parts;
  if (!command) throw new Error('the ASR command is empty');
  return { command, args };
}

/** Any speech engine behind a process contract: s16le 16 kHz mono on stdin, JSON lines on stdout. One process per stream. */
export class CommandEngine implements AsrEngine {
  readonly name: string;
  readonly version: string;
  private readonly runner: ProcessRunner;

  constructor(private readonly options: CommandEngineOptions) {
    if (options.command.trim() === '') throw new Error('CommandEngine needs a command');
    this.runner = options.runner ?? new ProcessRunner({ label: 'ASR' });
    this.name = options.name ?? `command:${options.command.split('/').pop()}`;
    this.version = options.version ?? 'unknown';
  }

  open(options: AsrOpenOptions): CommandStream {
    return new CommandStream({
      runner: this.runner,
      command: this.options.command,
      args: this.options.args ?? [],
      env: this.options.env ?? {},
      sampleRate: options.sampleRate,
      endTimeoutMs: this.options.endTimeoutMs ?? 10_000,
      killTimeoutMs: this.options.killTimeoutMs ?? 2000,
    });
  }
}
