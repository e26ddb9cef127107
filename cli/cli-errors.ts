/** A wrong command line: the caller prints the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose usage to print; undefined for the top-level usage. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A runtime failure the user can act on: the message alone is printed, and the process exits with exitCode. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The user pressed Ctrl-C (SIGINT): children are stopped, partial output removed, exit 130. */
export class InterruptedError extends CliError {
  constructor() {
    super('interrupted', 130);
  }
}
