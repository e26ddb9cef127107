import { describe, expect, it } from 'vitest';
import { SupervisedProcess, type ProcessCrash } from '../core/process/supervised-process.js';
import { isAlive } from './helpers/livefx-process.js';

describe('SupervisedProcess', () => {
  it('restarts a crashed process with growing backoff and reports stderr', async () => {
    const crashes: ProcessCrash[] = [];
    const supervised = new SupervisedProcess({
      role: 'test',
      command: 'sh',
      args: () => ['-c', 'echo "boom: bad input" >&2; exit 3'],
      initialBackoffMs: 20,
      maxBackoffMs: 80,
    });
    supervised.on('crash', (crash) => crashes.push(crash));
    supervised.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    await supervised.close();
    expect(crashes.length).toBeGreaterThanOrEqual(3);
    expect(crashes[0]).toMatchObject({ role: 'test', code: 3, stderrTail: 'boom: bad input', restartInMs: 20 });
    expect(crashes[1]!.restartInMs).toBe(40);
    expect(crashes.at(-1)!.restartInMs).toBe(80);
    expect(supervised.restarts).toBeGreaterThanOrEqual(3);
  });

  it('restarts a killed long-running process and kills it for good on close', async () => {
    const supervised = new SupervisedProcess({ role: 'sleeper', command: 'sleep', args: () => ['30'], initialBackoffMs: 10 });
    const started: number[] = [];
    supervised.on('start', (child) => started.push(child.pid!));
    supervised.start();
    const first = started[0]!;
    process.kill(first, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(started).toHaveLength(2);
    const second = started[1]!;
    expect(isAlive(second)).toBe(true);
    await supervised.close();
    expect(isAlive(second)).toBe(false);
    expect(supervised.closed).toBe(true);
    await supervised.close();
  });

  it('SIGKILLs a child that ignores SIGTERM after the grace period', async () => {
    const supervised = new SupervisedProcess({ role: 'stubborn', command: 'sh', args: () => ['-c', 'trap "" TERM; sleep 30 & wait'], killTimeoutMs: 200 });
    supervised.start();
    const pid = supervised.pid!;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await supervised.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(isAlive(pid)).toBe(false);
  });
});
