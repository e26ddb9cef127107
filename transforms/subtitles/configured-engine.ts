import type { AsrEngine } from './asr-engine.js';
import { CommandEngine, parseCommandLine } from './command-engine.js';
import { PocketSphinxEngine } from './pocketsphinx-engine.js';

/** The speech engine LIVEFX_ASR_COMMAND names: that program (the command contract), or PocketSphinx when empty. */
export function configuredAsrEngine(asrCommand: string): AsrEngine {
  const command = asrCommand.trim();
  if (command === '') return new PocketSphinxEngine();
  const { command: program, args } = parseCommandLine(command);
  return new CommandEngine({ command: program, args });
}
