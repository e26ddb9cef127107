import type { LivefxConfig } from '../../core/config.js';
import type { AsrEngine } from './asr-engine.js';
import { CommandEngine, parseCommandLine } from './engines/command/command-engine.js';
import { LIVE_CAPTION_TIMING, PocketSphinxEngine } from './engines/pocketsphinx/pocketsphinx-engine.js';
import { FallbackAsrEngine, type AsrFallback } from './fallback-asr-engine.js';

/** The settings that choose a speech engine. */
export type AsrEngineConfig = Pick<LivefxConfig, 'LIVEFX_ASR_COMMAND' | 'LIVEFX_ASR_FALLBACK'>;

export interface CreateAsrEngineOptions {
  /** An engine failed for good and the next took over (once per engine given up). */
  onFallback?: (fallback: AsrFallback) => void;
  /** For live captions: PocketSphinx with LIVE_CAPTION_TIMING (partials at once, finals after shorter pauses). */
  live?: boolean;
}

/**
 * The one place a speech engine is chosen from the configuration, for live captions and for
 * `livefx transcribe`: PocketSphinx in process, or the LIVEFX_ASR_COMMAND program with PocketSphinx
 * behind it unless LIVEFX_ASR_FALLBACK is "none".
 */
export function createAsrEngine(config: AsrEngineConfig, options: CreateAsrEngineOptions = {}): AsrEngine {
  const line = config.LIVEFX_ASR_COMMAND.trim();
  const pocketSphinx = (): PocketSphinxEngine => new PocketSphinxEngine(options.live ? LIVE_CAPTION_TIMING : {});
  if (line === '') return pocketSphinx();
  const { command, args } = parseCommandLine(line);
  const commandEngine = new CommandEngine({ command, args });
  if (config.LIVEFX_ASR_FALLBACK === 'none') return commandEngine;
  const engine = new FallbackAsrEngine({ engines: [commandEngine, pocketSphinx()] });
  const onFallback = options.onFallback;
  if (onFallback) engine.on('fallback', (fallback) => onFallback(fallback));
  return engine;
}
