import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { IntervalTimer } from '../../core/interval-timer.js';
import { RedisStreamDirectory } from '../../core/redis-stream-directory.js';
import { redisUrlForDisplay } from '../../core/jobs/bullmq-job-queue.js';
import { ClusterTokens } from './cluster-tokens.js';
import { CpuMeter } from './cpu-meter.js';

/** How often a node writes its heartbeat. */
export const HEARTBEAT_MS = 2000;
/** A node whose last heartbeat is older than this is dead. */
export const NODE_DEAD_MS = 5000;
/** A stream claim outlives its owner's last heartbeat by this much. */
const CLAIM_TTL_MS = 6000;
/**
 * A stream's shared record outlives its owner's last heartbeat by this much (its claim only by CLAIM_TTL_MS):
 * the window in which a publisher can publish it again through another node after its owner died.
 */
const RECORD_TTL_MS = 10 * 60_000;
/** Redirect and placement tokens are accepted this long. */
const TOKEN_TTL_MS = 30_000;

const NODES = 'livefx:nodes';
const NODE_PREFIX = 'livefx:node:';
const DRAIN_PREFIX = 'livefx:node-drain:';
const STREAM_PREFIX = 'livefx:stream:';
const SECRET = 'livefx:cluster-secret';

export type NodeState = 'serving' | 'draining';

/** What a node reports about itself at each heartbeat (GET /v1/nodes lists these). */
export interface NodeInfo {
  id: string;
  /** Where clients and other nodes reach it (LIVEFX_URL, else http://HOST:PORT). */
  url: string;
  state: NodeState;
  /** The machine's CPU use since the previous heartbeat, percent. */
  cpuPercent: number;
  /** LIVEFX_CPU_LIMIT: above it, no new stream is placed here. */
  cpuLimit: number;
  streams: number;
  viewers: number;
  maxStreams: number;
  /** LIVEFX_MAX_STREAMS − open streams. */
  freeSlots: number;
  /** LIVEFX_MAX_VIEWERS (0: no limit); at it, WHEP viewers of its streams are relayed through other nodes. */
  maxViewers: number;
  /** Streams this node relays for their owners (one subscription each); their viewers count in `viewers`. */
  relays: number;
  startedAt: string;
  lastHeartbeat: string;
}

/** This node's own figures, read at each heartbeat. */
export interface NodeLoad {
  /** Its open (idle or live) streams: their claims are refreshed with the heartbeat. */
  streamIds: readonly string[];
  /** WebRTC viewers served here: of its own streams and relayed ones. */
  viewers: number;
  maxStreams: number;
  maxViewers: number;
  relays: number;
}

/** What every node knows of a stream another node owns: enough to check a publisher's key and a viewer's access before redirecting. */
export interface SharedStreamRecord {
  id: string;
  nodeId: string;
  visibility: 'public' | 'private';
  /** SHA-256 (hex) of the stream key. */
  keyHash: string;
  /** What another node needs to take the stream over after its owner died (absent in records of older nodes). */
  title?: string;
  record?: boolean;
}

/** A stream whose owner died and whose claim has lapsed: any node may take it over for a publisher holding its key. */
export type OrphanStream = { record: SharedStreamRecord; claimLapsed: boolean };

/** A stream another alive node owns, as a non-owner sees it. */
export interface RemoteStream {
  record: SharedStreamRecord;
  node: NodeInfo;
  /** When the owner claimed it: a stream taken over by another node after its owner died is a new claim. */
  claimedAt: string;
}

export type NodeClusterEvents = {
  /** Another node asked this one to drain (POST /v1/nodes/:id/drain reached it there). */
  drain: [];
};

export interface NodeClusterOptions {
  redisUrl: string;
  /** LIVEFX_NODE_ID; unset: host name and a random suffix. */
  nodeId?: string | undefined;
  cpuLimit: number;
  load: () => NodeLoad;
  log: Logger;
}

// Compare-and-delete: only the node named in the record removes it (the stream may have been taken over by another).
const REMOVE_OWN_RECORD = "local v = redis.call('GET', KEYS[1]) if v and cjson.decode(v).nodeId == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * This node's membership of a cluster sharing one Redis (LIVEFX_REDIS_URL): its heartbeat in the node
 * registry, the stream directory, the records of the streams it owns, and the signing secret of the
 * tokens nodes hand each other. Redis being lost stops none of the node's own streams.
 */
export class NodeCluster extends TypedEmitter<NodeClusterEvents> {
  readonly nodeId: string;
  readonly directory: RedisStreamDirectory;
  readonly tokens: ClusterTokens;
  private readonly redis: Redis;
  private readonly options: NodeClusterOptions;
  private readonly timer = new IntervalTimer();
  private readonly startedAt = new Date().toISOString();
  /** The records of the streams this node owns, written again by every heartbeat. */
  private readonly published = new Map<string, SharedStreamRecord>();
  private publicUrl = '';
  private nodeState: NodeState = 'serving';
  private readonly cpu = new CpuMeter();
  private known: NodeInfo[] = [];
  private failing = false;
  private closed: Promise<void> | undefined;

  private constructor(options: NodeClusterOptions, redis: Redis, secret: string) {
    super();
    this.options = options;
    this.redis = redis;
    this.nodeId = options.nodeId ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
    this.directory = new RedisStreamDirectory({ redis, nodeId: this.nodeId, claimTtlMs: CLAIM_TTL_MS });
    this.tokens = new ClusterTokens({ secret: Buffer.from(secret), ttlMs: TOKEN_TTL_MS });
    this.listenerError = (event, error) => options.log.error({ err: error, event }, 'node cluster listener failed');
  }

  /** Connects to Redis (refusing to start when it cannot be reached) and reads, or makes, the cluster's signing secret. */
  static async open(options: NodeClusterOptions): Promise<NodeCluster> {
    // Commands fail at once while Redis is away (no offline queue): a heartbeat must not pile up behind an outage.
    const redis = new Redis(options.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5000 });
    let reported = false;
    redis.on('error', (error: Error) => {
      if (!reported) options.log.warn({ err: error }, 'node registry: Redis cannot be reached');
      reported = true;
    });
    redis.on('ready', () => (reported = false));
    try {
      await redis.connect();
      // The first node makes the secret; every node reads the same one (whoever reaches Redis may act as any node anyway).
      await redis.set(SECRET, ClusterTokens.newSecret(), 'NX');
      const secret = await redis.get(SECRET);
      if (!secret) throw new Error('the cluster secret vanished');
      return new NodeCluster(options, redis, secret);
    } catch (error) {
      redis.disconnect();
      throw new Error(`cannot reach Redis at ${redisUrlForDisplay(options.redisUrl)} (LIVEFX_REDIS_URL): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /** Starts the heartbeat once the node listens at `url`; resolves after the first one is written. */
  async start(url: string): Promise<void> {
    this.publicUrl = url;
    await this.heartbeat();
    this.timer.start(() => void this.heartbeat(), HEARTBEAT_MS);
  }

  get url(): string {
    return this.publicUrl;
  }

  get state(): NodeState {
    return this.nodeState;
  }

  /** Writes the heartbeat now (a stream opened or ended here: placement sees the new free slots without waiting for the next beat). */
  beat(): void {
    void this.heartbeat();
  }

  /** From now on no stream is placed here; the next heartbeat tells the other nodes (this one is sent at once). */
  markDraining(): void {
    if (this.nodeState === 'draining') return;
    this.nodeState = 'draining';
    void this.heartbeat();
  }

  /** This node, with its figures as of now. */
  self(): NodeInfo {
    return describeNode({ id: this.nodeId, url: this.publicUrl, state: this.nodeState, cpuPercent: this.cpu.lastPercent, cpuLimit: this.options.cpuLimit, startedAt: this.startedAt }, this.options.load());
  }

  /** The alive nodes as of the last heartbeat (no Redis call: /metrics reads this). */
  get lastKnown(): NodeInfo[] {
    return this.known.filter(alive);
  }

  /** Every alive node, read from Redis now; this node's own figures are current. */
  async nodes(): Promise<NodeInfo[]> {
    const ids = await this.redis.smembers(NODES);
    const values = ids.length > 0 ? await this.redis.mget(ids.map((id) => NODE_PREFIX + id)) : [];
    const gone = ids.filter((_id, index) => !values[index]);
    // A node whose heartbeat key expired is dead: it leaves the set.
    if (gone.length > 0) await this.redis.srem(NODES, ...gone);
    const nodes = values.flatMap((value) => (value ? [JSON.parse(value) as NodeInfo] : [])).filter(alive);
    this.known = nodes.map((node) => (node.id === this.nodeId ? this.self() : node)).sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
    return this.known;
  }

  /**
   * Where a new stream may go, best first: alive serving nodes under their CPU limit with a free slot,
   * most free slots first (ties: the node up longest, so placement is predictable).
   */
  async placementOrder(): Promise<NodeInfo[]> {
    const nodes = await this.nodes();
    return nodes.filter((node) => node.state === 'serving' && node.cpuPercent <= node.cpuLimit && node.freeSlots > 0).sort((a, b) => b.freeSlots - a.freeSlots);
  }

  /**
   * Where a viewer goes when a stream's owner is full: alive serving nodes other than `excluded` with room
   * for a viewer, most room first (a node without LIVEFX_MAX_VIEWERS counts as roomiest), from the last heartbeats.
   */
  async relayOrder(excluded: readonly string[]): Promise<NodeInfo[]> {
    const room = (node: NodeInfo): number => (node.maxViewers === 0 ? Number.MAX_SAFE_INTEGER : node.maxViewers - node.viewers);
    const nodes = await this.nodes();
    return nodes.filter((node) => node.state === 'serving' && !excluded.includes(node.id) && hasViewerRoom(node)).sort((a, b) => room(b) - room(a));
  }

  /** Makes a stream this node owns known to every node (written at its creation, refreshed by the heartbeat). */
  async publishStream(stream: { id: string; title: string; record: boolean; visibility: 'public' | 'private'; streamKey: string }): Promise<void> {
    const record: SharedStreamRecord = { id: stream.id, nodeId: this.nodeId, visibility: stream.visibility, keyHash: sha256(stream.streamKey), title: stream.title, record: stream.record };
    this.published.set(stream.id, record);
    await this.redis.set(STREAM_PREFIX + stream.id, JSON.stringify(record), 'PX', RECORD_TTL_MS);
  }

  /** Deletes the stream's record, unless another node has taken the stream over meanwhile. */
  async removeStream(streamId: string): Promise<void> {
    this.published.delete(streamId);
    await this.redis.eval(REMOVE_OWN_RECORD, 1, STREAM_PREFIX + streamId, this.nodeId);
  }

  /**
   * A stream no alive node owns whose record is still kept (its owner died less than RECORD_TTL_MS ago), and whether
   * its claim has lapsed yet (a dead owner's claim outlives its node entry by a second or so). Undefined otherwise.
   */
  async orphanStream(streamId: string): Promise<OrphanStream | undefined> {
    const [value, owner] = await Promise.all([this.redis.get(STREAM_PREFIX + streamId), this.directory.lookup(streamId)]);
    if (!value) return undefined;
    if (owner && (owner.nodeId === this.nodeId || (await this.redis.exists(NODE_PREFIX + owner.nodeId)) === 1)) return undefined;
    return { record: JSON.parse(value) as SharedStreamRecord, claimLapsed: owner === undefined };
  }

  /** A stream owned by another alive node, that node, and when it claimed the stream; undefined when no alive node owns it. */
  async remoteStream(streamId: string): Promise<RemoteStream | undefined> {
    const [value, owner] = await Promise.all([this.redis.get(STREAM_PREFIX + streamId), this.directory.lookup(streamId)]);
    if (!value || !owner || owner.nodeId === this.nodeId) return undefined;
    const nodeValue = await this.redis.get(NODE_PREFIX + owner.nodeId);
    const node = nodeValue ? (JSON.parse(nodeValue) as NodeInfo) : undefined;
    if (!node || !alive(node)) return undefined;
    return { record: JSON.parse(value) as SharedStreamRecord, node, claimedAt: owner.claimedAt };
  }

  /** Whether `key` is the stream key of `record` (compared by hash: nodes never share keys themselves). */
  static keyMatches(record: SharedStreamRecord, key: string): boolean {
    const given = Buffer.from(sha256(key));
    const expected = Buffer.from(record.keyHash);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Asks node `nodeId` to drain (it reads the request at its next heartbeat); false when no alive node has that id. */
  async requestDrain(nodeId: string): Promise<boolean> {
    if (nodeId === this.nodeId) {
      this.markDraining();
      return true;
    }
    if (!(await this.nodes()).some((node) => node.id === nodeId)) return false;
    await this.redis.set(DRAIN_PREFIX + nodeId, '1', 'EX', 60);
    return true;
  }

  /** Resolves when Redis answers within `timeoutMs`; rejects naming the problem otherwise. */
  async ping(timeoutMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs)));
    try {
      await Promise.race([this.redis.ping(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the heartbeat, removes this node from the registry (so it is gone at once, not after 5 s) and disconnects. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.timer.close();
      await Promise.allSettled([this.redis.del(NODE_PREFIX + this.nodeId), this.redis.srem(NODES, this.nodeId)]);
      await this.directory.close();
      this.redis.disconnect();
    })();
    return this.closed;
  }

  private async heartbeat(): Promise<void> {
    if (this.closed) return;
    this.cpu.sample();
    const self = this.self();
    const ids = this.options.load().streamIds;
    try {
      await this.redis.multi().set(NODE_PREFIX + this.nodeId, JSON.stringify(self), 'PX', NODE_DEAD_MS).sadd(NODES, this.nodeId).exec();
      // Claims and records are written again, not only extended: after a Redis pause longer than their TTL they are back.
      const lost = await this.directory.renew(ids);
      if (lost.length > 0) this.options.log.error({ streamIds: lost }, 'node registry: another node claimed streams this node still has live');
      const records = ids.flatMap((id) => (this.published.has(id) && !lost.includes(id) ? [this.published.get(id)!] : []));
      if (records.length > 0) await Promise.all(records.map((record) => this.redis.set(STREAM_PREFIX + record.id, JSON.stringify(record), 'PX', RECORD_TTL_MS)));
      if (this.nodeState === 'serving' && (await this.redis.getdel(DRAIN_PREFIX + this.nodeId))) {
        this.options.log.info({ nodeId: this.nodeId }, 'drain requested through another node');
        this.safeEmit('drain');
      }
      await this.nodes();
      if (this.failing) this.options.log.info('node registry: heartbeat written again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.options.log.warn({ err: error }, 'node registry: the heartbeat could not be written');
      this.failing = true;
    }
  }
}

function alive(node: NodeInfo): boolean {
  return Date.now() - Date.parse(node.lastHeartbeat) <= NODE_DEAD_MS;
}


/** A node's registry entry from its identity and its load now. */
export function describeNode(node: Pick<NodeInfo, 'id' | 'url' | 'state' | 'cpuPercent' | 'cpuLimit' | 'startedAt'>, load: NodeLoad): NodeInfo {
  const streams = load.streamIds.length;
  return {
    ...node,
    streams,
    viewers: load.viewers,
    maxStreams: load.maxStreams,
    freeSlots: Math.max(0, load.maxStreams - streams),
    maxViewers: load.maxViewers,
    relays: load.relays,
    lastHeartbeat: new Date().toISOString(),
  };
}

/** Whether a node can serve another WebRTC viewer (LIVEFX_MAX_VIEWERS not reached; 0 is no limit). */
export function hasViewerRoom(node: Pick<NodeInfo, 'viewers' | 'maxViewers'>): boolean {
  return node.maxViewers === 0 || node.viewers < node.maxViewers;
}
