import { ConfigError, loadConfig, type LivefxConfig } from '../core/config.js';
import { CliError } from './cli-errors.js';

/** The bearer header for requests to LIVEFX_URL: LIVEFX_TOKEN, an admin or operator token. */
export function serverAuthHeaders(config: Pick<LivefxConfig, 'LIVEFX_TOKEN'>): Record<string, string> {
  return config.LIVEFX_TOKEN ? { authorization: `Bearer ${config.LIVEFX_TOKEN}` } : {};
}

/** What to tell the user when LIVEFX_URL answers 401/403. */
export function refusedHint(status: number): string {
  return status === 401 ? ' (set LIVEFX_TOKEN to an admin or operator token of that server)' : status === 403 ? ' (LIVEFX_TOKEN does not reach this; use an admin token)' : '';
}

/** The server's configuration schema read from the environment; a bad value is a CLI error naming it. */
export function readConfig(env: NodeJS.ProcessEnv): LivefxConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

/**
 * Commands that work on LIVEFX_DATA_DIR without a server read and write its livefx.db. With
 * LIVEFX_DATABASE_URL the shared state lives in PostgreSQL instead: refuse rather than write where no node reads.
 */
export function requireLocalStore(config: Pick<LivefxConfig, 'LIVEFX_DATABASE_URL'>, command: string): void {
  if (!config.LIVEFX_DATABASE_URL) return;
  throw new CliError(
    `livefx ${command} without LIVEFX_URL works on LIVEFX_DATA_DIR's livefx.db, but LIVEFX_DATABASE_URL keeps recordings, presets and storyboards in PostgreSQL: set LIVEFX_URL to a livefx server using that database (and LIVEFX_TOKEN)`,
  );
}
