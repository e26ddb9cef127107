import { describe, expect, it } from 'vitest';
import { DECODE_LEAK_MS, TimingQueue } from '../server/pipeline/timing-queue.js';

/**
 * The decoder answers each frame with a picture, except frames it cannot decode. The worker matches
 * pictures to timing records in order; this is that bookkeeping, driven by a simulated decoder.
 */
function run(frames: number, unanswered: (index: number) => boolean): { refused: number; dropped: number; maxLength: number; lastLagMs: number } {
  const queue = new TimingQueue(64);
  let refused = 0;
  let dropped = 0;
  let maxLength = 0;
  let lastLagMs = 0;
  for (let index = 0; index < frames; index++) {
    const sentMs = index * 33;
    if (!queue.push(index * 3000, sentMs, sentMs)) refused++;
    maxLength = Math.max(maxLength, queue.length);
    if (unanswered(index)) continue;
    // The picture comes back 5 ms later.
    dropped += queue.dropUnanswered(sentMs + 5, DECODE_LEAK_MS);
    const timing = queue.shift()!;
    lastLagMs = sentMs - timing.captureMs;
  }
  return { refused, dropped, maxLength, lastLagMs };
}

describe('decode timing queue', () => {
  it('keeps taking frames when the decoder skips some (the stall a soak run found)', () => {
    // One frame in ten never comes back (a P-frame without its reference after loss), for 10 minutes at 30 fps.
    const result = run(18_000, (index) => index % 10 === 3);
    expect(result.refused).toBe(0);
    // About one record per unanswered frame is dropped once older than any real decode (FIFO matching
    // cannot tell which one; the last 1.5 s are still waiting at the end).
    expect(result.dropped).toBeGreaterThan(1700);
    expect(result.dropped).toBeLessThanOrEqual(1800);
    // The records stay close to the frames they belong to: a picture is matched with a record at most the leak age old.
    expect(result.lastLagMs).toBeLessThanOrEqual(DECODE_LEAK_MS + 33);
    expect(result.maxLength).toBeLessThanOrEqual(Math.ceil(DECODE_LEAK_MS / 33) + 2);
  });

  it('drops nothing while every frame is answered, and matches each picture with its own record', () => {
    const result = run(1000, () => false);
    expect(result).toEqual({ refused: 0, dropped: 0, maxLength: 1, lastLagMs: 0 });
  });
});
