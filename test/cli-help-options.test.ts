import { describe, expect, it } from 'vitest';
import { commandFromHelp, optionsFromHelp } from '../cli/help-options.js';
import { highlightsCommand } from '../cli/highlights-command.js';
import { storyboardCommand } from '../cli/storyboard-command.js';
import { verifyCommand } from '../cli/verify-command.js';

const HELP = `usage: livefx sample <file> [--tag <t>]… [-n 3] [--dry-run]
                     [--name <n>]

Does a sample thing; a line that mentions --tag in prose is not an option.

  -t, --tag <t>       a tag (repeat for each)
  -n <n>              how many
      --name <n>      the name, described over
                      two lines
      --dry-run       change nothing
  -h, --help          this text

Exit codes: 0 done, 2 wrong command line.`;

describe('options read from a command help text', () => {
  it('turns each option line into a parseArgs entry: a value makes a string, a repeated usage entry makes it multiple, --help is left to main', () => {
    expect(optionsFromHelp(HELP)).toEqual({
      tag: { type: 'string', short: 't', multiple: true },
      n: { type: 'string', short: 'n' },
      name: { type: 'string' },
      'dry-run': { type: 'boolean' },
    });
  });

  it('names the command after its usage line, takes no arguments unless told, and refuses a help text without a usage line', () => {
    const run = async (): Promise<number> => 0;
    const command = commandFromHelp(HELP, run, { summary: 'a sample', positionals: { min: 1, max: 1, names: ['file'] } });
    expect(command.name).toBe('sample');
    expect(command.help).toBe(HELP);
    expect(commandFromHelp(HELP, run, { summary: 'no arguments' }).positionals).toEqual({ min: 0, max: 0, names: [] });
    expect(() => commandFromHelp('does things', run, { summary: 'x' })).toThrow(/usage: livefx <name>/);
  });

  it('gives the real commands the flags their help shows', () => {
    expect(verifyCommand.options).toEqual({ manifest: { type: 'string' } });
    expect(storyboardCommand.options.recording).toEqual({ type: 'string', short: 'r', multiple: true });
    expect(highlightsCommand.options).toMatchObject({ k: { type: 'string', short: 'k' }, 'min-clip-s': { type: 'string' }, json: { type: 'boolean' } });
  });
});
