import { TokenBucket, type TokenBucketRate } from './token-bucket.js';

/** Full buckets are swept out at most this often, so the map holds only recently active keys. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Token buckets by key. An action names several keys (the socket, and name + address so that
 * reconnecting does not reset the limit) and is accepted only when every one of them has a token.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private lastSweepMs = 0;

  constructor(
    readonly rate: TokenBucketRate,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when accepted (a token is spent from each key), otherwise the ms to wait; nothing is spent then. */
  attempt(keys: readonly string[]): number {
    const nowMs = this.now();
    this.sweep(nowMs);
    const buckets = keys.map((key) => {
      let bucket = this.buckets.get(key);
      if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(this.rate, nowMs)));
      return bucket;
    });
    const waitMs = Math.max(0, ...buckets.map((bucket) => bucket.waitMs(nowMs)));
    if (waitMs > 0) return waitMs;
    for (const bucket of buckets) bucket.take(nowMs);
    return 0;
  }

  /** Keys currently tracked (for tests of the sweep). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = nowMs;
    for (const [key, bucket] of this.buckets) if (bucket.isFull(nowMs)) this.buckets.delete(key);
  }
}
