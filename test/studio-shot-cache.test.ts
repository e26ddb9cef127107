import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentKey, ShotCache } from '../studio/shot-cache.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livefx-shot-cache-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = (bytes: number) => async (folder: string): Promise<void> => writeFile(path.join(folder, 'body.mp4'), Buffer.alloc(bytes));

describe('ShotCache', () => {
  it('keys by content: the same inputs in any key order give the same key, any changed input another', () => {
    const inputs = { picture: { sha256: 'ab', in: 1.5 }, overlays: [{ type: 'text', text: 'Hi' }], quality: 'preview', seed: 7 };
    expect(contentKey(inputs)).toBe(contentKey({ seed: 7, quality: 'preview', overlays: [{ text: 'Hi', type: 'text' }], picture: { in: 1.5, sha256: 'ab' } }));
    expect(contentKey(inputs)).not.toBe(contentKey({ ...inputs, overlays: [{ type: 'text', text: 'Hi!' }] }));
    expect(contentKey(inputs)).not.toBe(contentKey({ ...inputs, seed: 8 }));
  });

  it('finds only complete entries, and a failed build leaves nothing', async () => {
    const cache = new ShotCache({ dir: path.join(dir, 'complete'), maxBytes: 10_000 });
    const key = contentKey({ shot: 1 });
    expect(await cache.lookup(key)).toBeUndefined();
    await expect(cache.store(key, async () => Promise.reject(new Error('ffmpeg died')))).rejects.toThrow('ffmpeg died');
    expect(await readdir(path.join(dir, 'complete'))).toEqual([]);
    const stored = await cache.store(key, entry(100));
    expect(await cache.lookup(key)).toBe(stored);
  });

  it('evicts the least recently used entries above its size limit, never one in use', async () => {
    const cache = new ShotCache({ dir: path.join(dir, 'lru'), maxBytes: 2500 });
    const [a, b, c] = [contentKey({ shot: 'a' }), contentKey({ shot: 'b' }), contentKey({ shot: 'c' })];
    await cache.store(a, entry(1000));
    await cache.store(b, entry(1000));
    // a was used more recently than b.
    await utimes(cache.entryDir(b), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await cache.lookup(a);
    await cache.store(c, entry(1000));
    expect(await cache.lookup(b)).toBeUndefined();
    expect(await cache.lookup(a)).toBeDefined();
    expect(await cache.lookup(c)).toBeDefined();
    expect(await cache.sizeBytes()).toBeLessThanOrEqual(2500);
  });
});
