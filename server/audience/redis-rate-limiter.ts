import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import { RateLimiter } from './rate-limiter.js';
import type { TokenBucketRate } from './token-bucket.js';

/** Token buckets that hold across nodes when they live in Redis; the in-process RateLimiter fits too. */
export interface ChatRateLimiter {
  /** 0 when accepted (a token is spent from each key), otherwise the ms to wait; nothing is spent then. */
  attempt(keys: readonly string[]): number | Promise<number>;
}

export interface RedisRateLimiterOptions {
  /** A client that fails fast while Redis is away (no offline queue): the limiter then counts in process. */
  redis: Redis;
  rate: TokenBucketRate;
  /** Key prefix, e.g. `livefx:rate:chat:`. */
  prefix: string;
  log: Logger;
}

/** Redis answers within this, or this node counts alone for that message (a paused Redis must not hold chat back). */
const ANSWER_MS = 1000;

// The token buckets of every key at once, on Redis's clock: all have a token → each spends one (0), else the wait in ms and nothing is spent.
const ATTEMPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local wait = 0
local tokens = {}
for i, key in ipairs(KEYS) do
  local bucket = redis.call('HMGET', key, 'tokens', 'at')
  local count = tonumber(bucket[1]) or capacity
  local at = tonumber(bucket[2]) or now
  count = math.min(capacity, count + math.max(0, now - at) * perMs)
  tokens[i] = count
  if count < 1 then wait = math.max(wait, math.ceil((1 - count) / perMs)) end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', tostring(tokens[i] - 1), 'at', tostring(now))
  redis.call('PEXPIRE', key, ARGV[3])
end
return 0
`;

/**
 * Chat and reaction limits counted in Redis (one Lua script: atomic across nodes), so a viewer who
 * connects to several nodes gets one allowance, not one per node. While Redis does not answer, the
 * node counts in process (RateLimiter) rather than refusing or holding chat.
 */
export class RedisRateLimiter implements ChatRateLimiter {
  private readonly redis: Redis;
  private readonly rate: TokenBucketRate;
  private readonly prefix: string;
  private readonly fallback: RateLimiter;
  private readonly log: Logger;
  /** A bucket left alone this long is full again: Redis forgets it. */
  private readonly idleMs: number;
  private failing = false;

  constructor(options: RedisRateLimiterOptions) {
    this.redis = options.redis;
    this.rate = options.rate;
    this.prefix = options.prefix;
    this.log = options.log;
    this.fallback = new RateLimiter(options.rate);
    this.idleMs = Math.ceil((options.rate.capacity / options.rate.refillPerSecond) * 1000) + 1000;
  }

  async attempt(keys: readonly string[]): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ANSWER_MS} ms`)), ANSWER_MS)));
    try {
      const counted = this.redis.eval(ATTEMPT, keys.length, ...keys.map((key) => this.prefix + key), this.rate.capacity, this.rate.refillPerSecond / 1000, this.idleMs);
      // A late answer after the timeout is dropped, never an unhandled rejection.
      counted.catch(() => undefined);
      const wait = Number(await Promise.race([counted, late]));
      if (this.failing) this.log.info({ prefix: this.prefix }, 'rate limits: counted in Redis again');
      this.failing = false;
      return wait;
    } catch (error) {
      if (!this.failing) this.log.warn({ err: error, prefix: this.prefix }, 'rate limits: Redis did not answer; counting on this node alone meanwhile');
      this.failing = true;
      return this.fallback.attempt(keys);
    } finally {
      clearTimeout(timer);
    }
  }
}
