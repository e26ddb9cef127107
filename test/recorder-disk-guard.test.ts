import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DiskGuard, realStatfs } from '../recorder/disk-guard.js';

// The guard in a running server (the floor crossed mid-session, a server started below it) is a fault
// test: test/faults/disk-floor.test.ts.
const silent = pino({ level: 'silent' });

describe('DiskGuard', () => {
  it('reports crossing below the floor once, and crossing back above it; a failing statfs changes nothing', async () => {
    let free = 5000;
    let failing = false;
    const guard = new DiskGuard({
      dir: tmpdir(),
      minFreeBytes: 1000,
      intervalMs: 60_000,
      log: silent,
      statfs: async () => {
        if (failing) throw new Error('EIO');
        return { freeBytes: free };
      },
    });
    const lows: number[] = [];
    const oks: number[] = [];
    guard.on('low', (space) => lows.push(space.freeBytes));
    guard.on('ok', (space) => oks.push(space.freeBytes));
    await guard.start();
    expect(guard.low).toBe(false);
    expect(guard.space).toEqual({ freeBytes: 5000 });
    free = 500;
    expect(await guard.check()).toBe(true);
    expect(await guard.check()).toBe(true);
    expect(lows).toEqual([500]);
    failing = true;
    free = 5000;
    expect(await guard.check()).toBe(true);
    failing = false;
    expect(await guard.check()).toBe(false);
    expect(oks).toEqual([5000]);
    guard.setMinFreeBytes(10_000);
    expect(await guard.check()).toBe(true);
    expect(lows).toEqual([500, 5000]);
    guard.close();
    guard.close();
  });

  it('measures the real disk with fs.statfs', async () => {
    const space = await realStatfs(tmpdir());
    const df = spawnSync('df', ['-B1', '--output=avail', tmpdir()], { encoding: 'utf8' });
    const available = Number(df.stdout.trim().split('\n').pop());
    expect(space.freeBytes).toBeGreaterThan(0);
    // Other writers share the disk: the two readings agree to within 1 GiB.
    expect(Math.abs(space.freeBytes - available)).toBeLessThan(2 ** 30);
  });
});
