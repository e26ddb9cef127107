import { ConfigError, loadConfig, type LivefxConfig } from '../server/config.js';
import { CliError } from './cli-errors.js';

/** The server's configuration schema read from the environment; a bad value is a CLI error naming it. */
export function readConfig(env: NodeJS.ProcessEnv): LivefxConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}
