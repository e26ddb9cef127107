import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';
import { runBuiltCli } from './helpers/cli-run.js';

// The worker commands' bad input, as a user meets it: no Redis is needed to be refused.
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livefx-worker-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (args: string[], env: Record<string, string> = {}) => runBuiltCli(args, { cwd: dir, env: { LIVEFX_DATA_DIR: dir, LIVEFX_REDIS_URL: '', LIVEFX_URL: '', ...env } });

describe('livefx worker and livefx workers refuse what cannot work', () => {
  it('are listed in livefx --help', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}worker +run queued highlights and render jobs/m);
    expect(help.stdout).toMatch(/^ {2}workers +run between --min and --max workers/m);
  });

  it('without LIVEFX_REDIS_URL: exit 1 saying what to set', async () => {
    for (const command of ['worker', 'workers']) {
      const result = await run([command]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`livefx ${command}: .*set LIVEFX_REDIS_URL`));
    }
  });

  it('a bad flag: exit 2 naming it, with the usage', async () => {
    const workers = await run(['workers', '--min', '3', '--max', '2'], { LIVEFX_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(workers.code).toBe(2);
    expect(workers.stderr).toContain('--max 2 is below --min 3');
    const concurrency = await run(['worker', '--concurrency', 'many'], { LIVEFX_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(concurrency.code).toBe(2);
    expect(concurrency.stderr).toContain('--concurrency needs a whole number from 1 to 64, not "many"');
    const queues = await run(['worker', '--queues', 'highlights,thumbnails'], { LIVEFX_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(queues.code).toBe(2);
    expect(queues.stderr).toContain('--queues: unknown queue "thumbnails" (known: highlights, reel, render)');
  });

  it('Redis unreachable: the worker exits 1 naming the URL', async () => {
    const result = await run(['worker'], { LIVEFX_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot reach Redis at redis://127.0.0.1:1 (LIVEFX_REDIS_URL)');
  });

  it('the settings are checked together: external workers need Redis; the URL must be redis://', () => {
    expect(() => loadConfig({ LIVEFX_WORKERS: 'external' })).toThrow(ConfigError);
    expect(() => loadConfig({ LIVEFX_WORKERS: 'external' })).toThrow(/LIVEFX_WORKERS: "external" workers take jobs from Redis: set LIVEFX_REDIS_URL/);
    expect(() => loadConfig({ LIVEFX_REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/LIVEFX_REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(loadConfig({ LIVEFX_REDIS_URL: 'redis://127.0.0.1:6379', LIVEFX_WORKERS: 'external' }).LIVEFX_WORKERS).toBe('external');
  });
});
