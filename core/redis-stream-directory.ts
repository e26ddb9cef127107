import type { Redis } from 'ioredis';
import type { StreamClaim, StreamDirectory, StreamLocation } from './stream-directory.js';

export interface RedisStreamDirectoryOptions {
  /** A connected client; the directory does not close it (its owner does). */
  redis: Redis;
  nodeId: string;
  /** A claim not refreshed for this long lapses (a killed node's streams free themselves). */
  claimTtlMs: number;
}

const OWNER_PREFIX = 'livefx:stream-owner:';
/** Claim times by stream id: list() in claim order without scanning the key space. */
const CLAIMS = 'livefx:stream-claims';

// Compare-and-set: only the node whose id is the key's value may extend or delete the claim.
const REFRESH = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
// The heartbeat's renewal: extends this node's claim, or takes it again when it lapsed (a Redis pause longer
// than the TTL); returns 0 only when another node holds it now.
const RENEW =
  "local owner = redis.call('GET', KEYS[1]) if owner == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) elseif owner then return 0 end " +
  "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) redis.call('ZADD', KEYS[2], 'NX', ARGV[4], ARGV[3]) return 1";
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('ZREM', KEYS[2], ARGV[2]) return redis.call('DEL', KEYS[1]) else return 0 end";

/**
 * The stream directory of several nodes, in Redis: one key per stream holds its owner's id, set with
 * `SET NX PX` (the first claim wins) and refreshed and released only by the owner (Lua compare-and-set).
 */
export class RedisStreamDirectory implements StreamDirectory {
  readonly nodeId: string;
  private readonly redis: Redis;
  private readonly ttlMs: number;
  private closed = false;

  constructor(options: RedisStreamDirectoryOptions) {
    this.redis = options.redis;
    this.nodeId = options.nodeId;
    this.ttlMs = options.claimTtlMs;
  }

  async lookup(streamId: string): Promise<StreamLocation | undefined> {
    this.assertOpen();
    const [owner, score] = await Promise.all([this.redis.get(OWNER_PREFIX + streamId), this.redis.zscore(CLAIMS, streamId)]);
    return owner ? location(streamId, owner, score) : undefined;
  }

  async claim(streamId: string): Promise<StreamClaim> {
    this.assertOpen();
    const key = OWNER_PREFIX + streamId;
    if ((await this.redis.set(key, this.nodeId, 'PX', this.ttlMs, 'NX')) === 'OK') {
      const now = Date.now();
      await this.redis.zadd(CLAIMS, now, streamId);
      return { claimed: true, location: location(streamId, this.nodeId, String(now)) };
    }
    const held = await this.lookup(streamId);
    if (held && held.nodeId !== this.nodeId) return { claimed: false, owner: held };
    // Ours already (or it lapsed between the two calls): claim it again, which refreshes it.
    if (!held) return this.claim(streamId);
    await this.refresh([streamId]);
    return { claimed: true, location: held };
  }

  /** Extends this node's claims (the heartbeat calls it); claims held by others are left alone. */
  async refresh(streamIds: readonly string[]): Promise<void> {
    this.assertOpen();
    await Promise.all(streamIds.map((id) => this.redis.eval(REFRESH, 1, OWNER_PREFIX + id, this.nodeId, String(this.ttlMs))));
  }

  /**
   * The heartbeat's call for the streams this node has live: extends their claims and takes back any that
   * lapsed while Redis was unreachable or paused. Returns the ids another node holds now (lost to it).
   */
  async renew(streamIds: readonly string[]): Promise<string[]> {
    this.assertOpen();
    const now = String(Date.now());
    const held = await Promise.all(streamIds.map((id) => this.redis.eval(RENEW, 2, OWNER_PREFIX + id, CLAIMS, this.nodeId, String(this.ttlMs), id, now)));
    return streamIds.filter((_id, index) => held[index] === 0);
  }

  async release(streamId: string): Promise<void> {
    this.assertOpen();
    await this.redis.eval(RELEASE, 2, OWNER_PREFIX + streamId, CLAIMS, this.nodeId, streamId);
  }

  async list(): Promise<StreamLocation[]> {
    this.assertOpen();
    const entries = await this.redis.zrange(CLAIMS, 0, -1, 'WITHSCORES');
    const ids = entries.filter((_entry, index) => index % 2 === 0);
    if (ids.length === 0) return [];
    const owners = await this.redis.mget(ids.map((id) => OWNER_PREFIX + id));
    const lapsed = ids.filter((_id, index) => !owners[index]);
    // A claim that lapsed (its node died) leaves its time behind: tidied here.
    if (lapsed.length > 0) await this.redis.zrem(CLAIMS, ...lapsed);
    return ids.flatMap((id, index) => (owners[index] ? [location(id, owners[index], entries[index * 2 + 1])] : []));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the stream directory is closed');
  }
}

function location(streamId: string, nodeId: string, claimedMs: string | null | undefined): StreamLocation {
  const ms = Number(claimedMs);
  return { streamId, nodeId, claimedAt: new Date(Number.isFinite(ms) && ms > 0 ? ms : Date.now()).toISOString() };
}
