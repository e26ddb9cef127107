import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config.js';
import { LivefxServer } from '../../server/livefx-server.js';
import { createLogger } from '../../core/logger.js';
import { ADMIN_TOKEN } from './fuzz-harness.js';

export interface RouteEntry {
  method: string;
  /** fastify's pattern, e.g. `/v1/streams/:id/transforms/:index`, `/assets/*`. */
  url: string;
}

/**
 * Every route the server registers, read from fastify's onRoute hook while a throwaway server starts,
 * so a route added later is fuzzed without touching the tests.
 */
export async function serverRoutes(): Promise<RouteEntry[]> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-routes-'));
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_LOG_LEVEL: 'silent', LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_RECORD_MIN_FREE_MB: '0' });
  const server = new LivefxServer({ config, log: createLogger('silent') });
  const routes: RouteEntry[] = [];
  server.http.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method: String(method), url: route.url ?? route.path });
  });
  try {
    await server.start();
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const unique = new Map(routes.map((route) => [`${route.method} ${route.url}`, route]));
  return [...unique.values()];
}
