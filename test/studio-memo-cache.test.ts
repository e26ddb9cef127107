import { describe, expect, it } from 'vitest';
import { MemoCache } from '../studio/memo-cache.js';
import { MEDIA_MEMO_ENTRIES } from '../studio/render-service.js';

/** A computation that counts its runs. */
function counted(value: string): { compute: () => Promise<string>; runs: () => number } {
  let runs = 0;
  return { compute: async () => (runs++, value), runs: () => runs };
}

describe('MemoCache (the probe and hash memos of the render service)', () => {
  it('computes a key once and answers from memory after', async () => {
    const memo = new MemoCache<string>({ maxEntries: 4 });
    const a = counted('hash-a');
    expect(await memo.get('a', a.compute)).toBe('hash-a');
    expect(await memo.get('a', a.compute)).toBe('hash-a');
    expect(a.runs()).toBe(1);
  });

  it('never holds more than maxEntries, evicting the least recently used first', async () => {
    const memo = new MemoCache<string>({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) await memo.get(key, async () => key);
    await memo.get('a', async () => 'recomputed'); // a is now the most recently used
    await memo.get('d', async () => 'd');
    expect(memo.size).toBe(3);
    expect(memo.has('b')).toBe(false);
    expect([memo.has('a'), memo.has('c'), memo.has('d')]).toEqual([true, true, true]);
    // An evicted key is computed again when asked for.
    const b = counted('b again');
    expect(await memo.get('b', b.compute)).toBe('b again');
    expect(b.runs()).toBe(1);
    expect(memo.has('c')).toBe(false);
  });

  it('stays at its bound over many more keys than it holds (a server running for months)', async () => {
    const memo = new MemoCache<number>({ maxEntries: MEDIA_MEMO_ENTRIES });
    for (let index = 0; index < MEDIA_MEMO_ENTRIES * 10; index++) await memo.get(`/data/recordings/${index}/original.mp4:1000:${index}`, async () => index);
    expect(memo.size).toBe(MEDIA_MEMO_ENTRIES);
    expect(memo.has(`/data/recordings/${MEDIA_MEMO_ENTRIES * 10 - 1}/original.mp4:1000:${MEDIA_MEMO_ENTRIES * 10 - 1}`)).toBe(true);
    expect(memo.has('/data/recordings/0/original.mp4:1000:0')).toBe(false);
  });

  it('keeps nothing from a failed computation and lets the next ask run it again', async () => {
    const memo = new MemoCache<string>({ maxEntries: 2 });
    await expect(memo.get('x', async () => Promise.reject(new Error('ffprobe failed')))).rejects.toThrow('ffprobe failed');
    expect(memo.has('x')).toBe(false);
    expect(await memo.get('x', async () => 'ok')).toBe('ok');
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new MemoCache({ maxEntries: 0 })).toThrow(/maxEntries/);
  });
});
