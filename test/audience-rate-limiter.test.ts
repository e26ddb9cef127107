import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../server/audience/rate-limiter.js';

describe('RateLimiter (token buckets by key)', () => {
  it('allows the burst, then one action per refill interval, and names the wait', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ capacity: 3, refillPerSecond: 0.5 }, () => now);
    expect([0, 1, 2].map(() => limiter.attempt(['a']))).toEqual([0, 0, 0]);
    expect(limiter.attempt(['a'])).toBe(2000);
    now += 1500;
    expect(limiter.attempt(['a'])).toBe(500);
    now += 500;
    expect(limiter.attempt(['a'])).toBe(0);
    expect(limiter.attempt(['a'])).toBe(2000);
  });

  it('needs a token under every key, and spends none when one key refuses', () => {
    let now = 0;
    const limiter = new RateLimiter({ capacity: 2, refillPerSecond: 1 }, () => now);
    expect(limiter.attempt(['socket:1', 'viewer:ann'])).toBe(0);
    expect(limiter.attempt(['socket:1', 'viewer:ann'])).toBe(0);
    // A new socket for the same viewer is still limited by the viewer's bucket...
    expect(limiter.attempt(['socket:2', 'viewer:ann'])).toBe(1000);
    // ...and that refusal cost the new socket nothing.
    expect(limiter.attempt(['socket:2', 'viewer:bob'])).toBe(0);
    expect(limiter.attempt(['socket:2', 'viewer:bob'])).toBe(0);
    now += 1000;
    expect(limiter.attempt(['socket:1', 'viewer:ann'])).toBe(0);
  });

  it('forgets buckets that have filled up again, so idle viewers cost no memory', () => {
    let now = 0;
    const limiter = new RateLimiter({ capacity: 1, refillPerSecond: 1 }, () => now);
    for (let viewer = 0; viewer < 100; viewer++) limiter.attempt([`viewer:${viewer}`]);
    expect(limiter.size).toBe(100);
    now += 61_000;
    limiter.attempt(['viewer:new']);
    expect(limiter.size).toBe(1);
  });
});
