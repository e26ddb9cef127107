import type { Redis } from 'ioredis';
import type { AudienceBus, AudienceBusListener, AudienceBusMessage } from './audience-bus.js';
import { TypedEmitter } from './typed-emitter.js';

export interface RedisAudienceBusOptions {
  /** A client with an offline queue (messages published while Redis is away wait for it); the bus does not close it. */
  redis: Redis;
  nodeId: string;
  /** The Redis stream every node appends to and reads; defaults to `livefx:audience`. */
  streamKey?: string;
  /** Entries the stream keeps (approximately): enough for a reader that was away a while to catch up. */
  maxLength?: number;
  /** A read or a listener failed (reads are retried). */
  onError?: (error: unknown) => void;
}

/** How long one blocking read waits before it is issued again (also bounds how long close() waits for the reader). */
const READ_BLOCK_MS = 2000;
/** After a failed read (Redis away), the next try waits this long; the reader resumes from the last entry it saw. */
const RETRY_MS = 500;

/**
 * The audience bus of several nodes, on one Redis stream: publish appends (XADD), every node reads
 * from the last entry it saw (XREAD), so a node whose connection to Redis drops catches up on what it
 * missed instead of losing it (plain pub/sub would). A node's own messages are delivered to its
 * subscribers at once, inside publish(), as the local bus does, and skipped when read back. A node
 * that starts replays what the stream still holds (its last `maxLength` entries) to its first
 * subscriber, so it knows the bans, mutes and chat of streams that went live before it started.
 */
export class RedisAudienceBus extends TypedEmitter<{ message: [message: AudienceBusMessage] }> implements AudienceBus {
  readonly nodeId: string;
  private readonly redis: Redis;
  private readonly reader: Redis;
  private readonly streamKey: string;
  private readonly maxLength: number;
  private readonly onError: (error: unknown) => void;
  private isClosed = false;
  private reading: Promise<void> | undefined;
  /** The stream's last entry when this bus opened: entries up to it are history, delivered whoever published them. */
  private readonly replayUntil: string;

  private constructor(options: RedisAudienceBusOptions, reader: Redis, replayUntil: string) {
    super();
    this.redis = options.redis;
    this.reader = reader;
    this.nodeId = options.nodeId;
    this.streamKey = options.streamKey ?? 'livefx:audience';
    this.maxLength = options.maxLength ?? 10_000;
    this.onError = options.onError ?? (() => {});
    this.listenerError = (_event, error) => this.onError(error);
    this.replayUntil = replayUntil;
  }

  /** Opens a reader connection; reading (history first) starts with the first subscriber. */
  static async open(options: RedisAudienceBusOptions): Promise<RedisAudienceBus> {
    // Blocking reads need a connection of their own (they would hold up every other command).
    const reader = options.redis.duplicate();
    reader.on('error', () => {});
    const streamKey = options.streamKey ?? 'livefx:audience';
    const last = await reader.xrevrange(streamKey, '+', '-', 'COUNT', 1);
    return new RedisAudienceBus({ ...options, streamKey }, reader, last[0]?.[0] ?? '0-0');
  }

  async publish(message: Omit<AudienceBusMessage, 'origin'>): Promise<void> {
    if (this.isClosed) return;
    const full: AudienceBusMessage = { ...message, origin: this.nodeId };
    this.safeEmit('message', full);
    await this.redis.xadd(this.streamKey, 'MAXLEN', '~', this.maxLength, '*', 'm', JSON.stringify(full));
  }

  subscribe(listener: AudienceBusListener): () => void {
    this.on('message', listener);
    // Started here, not at open: history read before anyone listens would be lost.
    this.reading ??= this.readFrom('0-0');
    return () => this.off('message', listener);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.removeAllListeners();
    this.reader.disconnect();
    await this.reading;
  }

  private async readFrom(start: string): Promise<void> {
    let offset = start;
    while (!this.isClosed) {
      try {
        const answer = await this.reader.xread('COUNT', 100, 'BLOCK', READ_BLOCK_MS, 'STREAMS', this.streamKey, offset);
        for (const [, entries] of answer ?? []) {
          for (const [id, fields] of entries) {
            offset = id;
            this.deliver(fields, isAtOrBefore(id, this.replayUntil));
          }
        }
      } catch (error) {
        if (this.isClosed) return;
        this.onError(error);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  private deliver(fields: string[], history: boolean): void {
    const index = fields.indexOf('m');
    if (index < 0 || this.isClosed) return;
    let message: AudienceBusMessage;
    try {
      message = JSON.parse(fields[index + 1]!) as AudienceBusMessage;
    } catch (error) {
      return this.onError(error);
    }
    // This node's own messages were delivered when they were published (history: by an earlier run of it).
    if (history || message.origin !== this.nodeId) this.safeEmit('message', message);
  }
}

/** Whether Redis stream entry id `id` (`<ms>-<seq>`) is at or before `other`. */
function isAtOrBefore(id: string, other: string): boolean {
  const [ms, seq] = id.split('-').map(Number) as [number, number];
  const [otherMs, otherSeq] = other.split('-').map(Number) as [number, number];
  return ms < otherMs || (ms === otherMs && seq <= otherSeq);
}
