import { parseArgs } from 'node:util';
import type { CliCommand, CliContext } from './cli-command.js';
import { CliError, UsageError } from './cli-errors.js';
import { renderCommand } from './render-command.js';
import { importCommand } from './import-command.js';
import { transcribeCommand } from './transcribe-command.js';
import { highlightsCommand } from './highlights-command.js';
import { renderVideoCommand } from './render-video-command.js';
import { adminTokenCommand } from './admin-token-command.js';
import { verifyCommand } from './verify-command.js';
import { provenanceKeyCommand } from './provenance-key-command.js';
import { storyboardCommand } from './storyboard-command.js';
import { workerCommand } from './worker-command.js';
import { workersCommand } from './workers-command.js';

/** Every `livefx <command>`; later commands (transcribe, import, highlights) are added to this list. */
const commands: readonly CliCommand[] = [renderCommand, importCommand, transcribeCommand, highlightsCommand, adminTokenCommand, verifyCommand, provenanceKeyCommand, storyboardCommand, renderVideoCommand, workerCommand, workersCommand];

function topLevelUsage(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'usage: livefx <command> [options]',
    '',
    'commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Run `livefx <command> --help` for its options. Settings come from the environment',
    '(LIVEFX_DATA_DIR, LIVEFX_FFMPEG, LIVEFX_URL, LIVEFX_TOKEN, LIVEFX_REDIS_URL, LIVEFX_LOG_LEVEL), as for the server.',
  ].join('\n');
}

function findCommand(name: string): CliCommand | undefined {
  return commands.find((command) => command.name === name);
}

/** Runs one command line (without `node` and the script) and resolves to the process exit code. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    context.stderr.write(`${topLevelUsage()}\n`);
    return 2;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const command = first === 'help' && rest[0] !== undefined ? findCommand(rest[0]) : undefined;
    context.stdout.write(`${command ? command.help : topLevelUsage()}\n`);
    return 0;
  }
  const command = findCommand(first);
  try {
    if (!command) throw new UsageError(first.startsWith('-') ? `unknown option "${first}"` : `unknown command "${first}"`);
    const parsed = parseCommandLine(command, rest);
    if (parsed.values.help === true) {
      context.stdout.write(`${command.help}\n`);
      return 0;
    }
    return await command.run(parsed, context);
  } catch (error) {
    return report(error, command, context);
  }
}

function parseCommandLine(command: CliCommand, args: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains unknown flags and missing values well; only its advice about "--" is noise here.
    const message = error instanceof Error ? error.message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '') : String(error);
    throw new UsageError(message, command.name);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { values, positionals: parsed.positionals };
  const { min, max, names } = command.positionals;
  if (parsed.positionals.length < min) throw new UsageError(`missing ${names.slice(parsed.positionals.length, min).map((name) => `<${name}>`).join(' ')}`, command.name);
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`, command.name);
  return { values, positionals: parsed.positionals };
}

function report(error: unknown, command: CliCommand | undefined, context: CliContext): number {
  const prefix = command ? `livefx ${command.name}` : 'livefx';
  if (error instanceof UsageError) {
    const usage = error.command ? findCommand(error.command)?.help : undefined;
    context.stderr.write(`${prefix}: ${error.message}\n\n${usage ?? topLevelUsage()}\n`);
    return 2;
  }
  const level = context.env.LIVEFX_LOG_LEVEL;
  const debug = level === 'debug' || level === 'trace';
  const message = error instanceof Error ? error.message : String(error);
  context.stderr.write(`${prefix}: ${message}\n`);
  if (debug && error instanceof Error && error.stack) context.stderr.write(`${error.stack}\n`);
  return error instanceof CliError ? error.exitCode : 1;
}

/** The context of the real process; the first Ctrl-C asks the command to stop cleanly, a second one exits at once. */
export function processContext(): { context: CliContext; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return {
    context: { env: process.env, stdout: process.stdout, stderr: process.stderr, signal: controller.signal },
    dispose: () => process.off('SIGINT', onSigint),
  };
}
