import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { LivefxConfig } from '../core/config.js';
import { CliError } from './cli-errors.js';
import { refusedHint, requireLocalStore, serverAuthHeaders } from './cli-config.js';
import type { SpecSource } from './render-chain.js';

const presetResponse = z.object({ spec: z.unknown() });
const errorResponse = z.object({ error: z.object({ message: z.string() }) });

/**
 * The spec of a preset stored by the server: asked of the running server when LIVEFX_URL is set,
 * otherwise read from the preset store in LIVEFX_DATA_DIR (livefx.db).
 */
export async function lookUpPreset(name: string, config: LivefxConfig): Promise<{ spec: unknown; source: SpecSource }> {
  const source: SpecSource = { description: `preset "${name}"`, folder: undefined };
  if (config.LIVEFX_URL) return { spec: await fetchPreset(name, config.LIVEFX_URL, serverAuthHeaders(config)), source };
  requireLocalStore(config, 'render --preset');
  return { spec: await readStoredPreset(name, config.LIVEFX_DATA_DIR), source };
}

async function fetchPreset(name: string, baseUrl: string, auth: Record<string, string>): Promise<unknown> {
  const url = new URL(`v1/presets/${encodeURIComponent(name)}`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  let response: Response;
  try {
    response = await fetch(url, { headers: auth, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new CliError(`cannot reach the server at LIVEFX_URL=${baseUrl} to fetch preset "${name}": ${error instanceof Error ? error.message : String(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status === 404) throw new CliError(`no spec file "${name}" and no preset named "${name}" on ${baseUrl}`);
  if (!response.ok) {
    const problem = errorResponse.safeParse(body);
    throw new CliError(`the server at ${baseUrl} refused preset "${name}" (HTTP ${response.status}${problem.success ? `: ${problem.data.error.message}` : ''})${refusedHint(response.status)}`);
  }
  const parsed = presetResponse.safeParse(body);
  if (!parsed.success) throw new CliError(`the server at ${baseUrl} answered GET ${url.pathname} without a "spec"`);
  return parsed.data.spec;
}

async function readStoredPreset(name: string, dataDir: string): Promise<unknown> {
  // Loaded only here: the native SQLite module is not needed for renders from a spec file.
  const [{ LivefxDatabase }, { MIGRATIONS }, { SqlitePresetStore }] = await Promise.all([
    import('../core/database.js'),
    import('../server/storage/migrations.js'),
    import('../server/storage/sqlite-preset-store.js'),
  ]);
  const file = path.join(dataDir, LivefxDatabase.FILE_NAME);
  if (!existsSync(file)) throw new CliError(`no spec file "${name}", and no preset store (${file}) to look for a preset of that name`);
  const database = LivefxDatabase.open(dataDir, MIGRATIONS);
  try {
    const preset = await new SqlitePresetStore({ db: database.db }).get(name);
    if (!preset) throw new CliError(`no spec file "${name}" and no preset named "${name}" in ${file}`);
    return preset.spec;
  } finally {
    database.close();
  }
}
