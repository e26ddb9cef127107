import type { ParseArgsConfig } from 'node:util';
import type { CliCommand } from './cli-command.js';

type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** An option line of a help text: `  -e, --events <file>  …`, `      --json  …` or `  -k <n>  …`. */
const OPTION_LINE = /^\s+(?:-([A-Za-z])(?:, |(?= <)))?(?:--([a-z][a-z0-9-]*))?(?: <[^>]+>)?(?= {2,}|$)/;
const VALUE = / <[^>]+>/;

/**
 * The parseArgs option table a help text describes, so the text a user reads is the only place a
 * command declares its flags: an option line with `<value>` takes a string, one without is a switch,
 * and an option the usage shows as `[--name …]…` may be repeated. `-h, --help` is main.ts's own.
 */
export function optionsFromHelp(help: string): OptionTable {
  const options: OptionTable = {};
  const usage = help.slice(0, help.indexOf('\n\n'));
  for (const line of help.split('\n')) {
    const match = OPTION_LINE.exec(line);
    if (!match || (match[1] === undefined && match[2] === undefined)) continue;
    const [, short, long] = match;
    const name = long ?? short!;
    if (name === 'help') continue;
    const repeatable = new RegExp(`\\[--${name}(?=[\\s\\]])[^\\]]*\\]…`).test(usage);
    options[name] = {
      type: VALUE.test(match[0]) ? 'string' : 'boolean',
      ...(short === undefined ? {} : { short }),
      ...(repeatable ? { multiple: true } : {}),
    };
  }
  return options;
}

/**
 * A command declared by its help text: its name from the usage line, its flags from the option
 * lines (optionsFromHelp), so what `livefx <name> --help` says is what the parser accepts.
 * Without `positionals` it takes no arguments.
 */
export function commandFromHelp(help: string, run: CliCommand['run'], parts: Pick<CliCommand, 'summary'> & Partial<Pick<CliCommand, 'positionals'>>): CliCommand {
  const name = /^usage: livefx (\S+)/.exec(help)?.[1];
  if (name === undefined) throw new Error('a command help text starts with "usage: livefx <name>"');
  return { name, help, options: optionsFromHelp(help), positionals: { min: 0, max: 0, names: [] }, ...parts, run };
}
