/** Capacity (the burst) and how fast spent tokens come back. */
export interface TokenBucketRate {
  capacity: number;
  refillPerSecond: number;
}

/**
 * A token bucket: each accepted action spends one token, tokens come back at a steady rate up to
 * the capacity. Time is passed in so one clock reading serves several buckets.
 */
export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private readonly rate: TokenBucketRate,
    nowMs: number,
  ) {
    this.tokens = rate.capacity;
    this.updatedMs = nowMs;
  }

  /** 0 when a token is there now, otherwise the milliseconds until one is. */
  waitMs(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) / this.rate.refillPerSecond) * 1000);
  }

  /** Spends a token; call only after waitMs() said 0. */
  take(nowMs: number): void {
    this.refill(nowMs);
    this.tokens = Math.max(0, this.tokens - 1);
  }

  /** A full bucket behaves exactly like a new one, so it may be forgotten. */
  isFull(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens >= this.rate.capacity;
  }

  private refill(nowMs: number): void {
    const elapsedS = Math.max(0, nowMs - this.updatedMs) / 1000;
    this.tokens = Math.min(this.rate.capacity, this.tokens + elapsedS * this.rate.refillPerSecond);
    this.updatedMs = nowMs;
  }
}
