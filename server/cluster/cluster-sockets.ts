import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import type { Server as SocketServer } from 'socket.io';
import type { Logger } from '../../core/logger.js';
import { RedisAudienceBus } from '../../core/redis-audience-bus.js';
import { RedisRateLimiter } from '../audience/redis-rate-limiter.js';
import type { TokenBucketRate } from '../audience/token-bucket.js';

export interface ClusterSocketsOptions {
  redisUrl: string;
  nodeId: string;
  io: SocketServer;
  log: Logger;
}

/**
 * socket.io across nodes (LIVEFX_REDIS_URL): the Redis streams adapter, so an emit to a room on one node
 * reaches that room's sockets on every node (and a node catches up after a Redis reconnect); the
 * audience bus on its own Redis stream; chat and reaction limits counted in Redis.
 */
export class ClusterSockets {
  readonly bus: RedisAudienceBus;
  private readonly publisher: Redis;
  private readonly counter: Redis;
  private readonly log: Logger;
  private closed: Promise<void> | undefined;

  private constructor(bus: RedisAudienceBus, publisher: Redis, counter: Redis, log: Logger) {
    this.bus = bus;
    this.publisher = publisher;
    this.counter = counter;
    this.log = log;
  }

  static async open(options: ClusterSocketsOptions): Promise<ClusterSockets> {
    const { log } = options;
    // Publishing waits out a Redis outage (offline queue, endless retries): chat sent meanwhile goes out when Redis is back.
    const publisher = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
    // Rate limits must answer now or not at all (the limiter then counts in process).
    const counter = new Redis(options.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    for (const client of [publisher, counter]) client.on('error', (error: Error) => log.debug({ err: error }, 'socket.io cluster: Redis error'));
    await Promise.all([publisher.connect(), counter.connect()]);
    options.io.adapter(createAdapter(publisher));
    const bus = await RedisAudienceBus.open({ redis: publisher, nodeId: options.nodeId, onError: (error) => log.warn({ err: error }, 'audience bus: Redis read failed; resuming from the last entry') });
    return new ClusterSockets(bus, publisher, counter, log);
  }

  /** Token buckets for one kind of message (`chat`, `react`) shared by every node. */
  rateLimiter(kind: string, rate: TokenBucketRate): RedisRateLimiter {
    return new RedisRateLimiter({ redis: this.counter, rate, prefix: `livefx:rate:${kind}:`, log: this.log });
  }

  /** Disconnects from Redis; call after socket.io has closed (the adapter's readers close with it). Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.bus.close();
      this.publisher.disconnect();
      this.counter.disconnect();
    })();
    return this.closed;
  }
}
