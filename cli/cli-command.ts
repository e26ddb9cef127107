import type { ParseArgsConfig } from 'node:util';

/** What a command runs with: the process's environment and streams, passed in so commands stay testable. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** Aborted when the user presses Ctrl-C; a command stops its work and throws InterruptedError. */
  readonly signal: AbortSignal;
}

/** The parsed command line of one command: its flags (by name) and its positional arguments. */
export interface CliInvocation {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

/** One `livefx <name>` subcommand; main.ts dispatches to it after parsing its options with parseArgs. */
export interface CliCommand {
  readonly name: string;
  /** One line for `livefx --help`. */
  readonly summary: string;
  /** The full text for `livefx <name> --help`, starting with the usage line. */
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** How many positional arguments the command takes, at least and at most. */
  readonly positionals: { min: number; max: number; names: string[] };
  /** Resolves to the exit code; throws UsageError, CliError or InterruptedError. */
  run(invocation: CliInvocation, context: CliContext): Promise<number>;
}
