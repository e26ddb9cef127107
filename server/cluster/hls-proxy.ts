import type { FastifyReply } from 'fastify';
import { LivefxError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { REDIRECT_PARAM, type ClusterRedirects } from './cluster-redirects.js';
import type { RemoteStream } from './node-cluster.js';
import { Counter } from 'prom-client';
import type { LivefxMetrics } from '../metrics.js';

/** What the owner writes once and never changes (segments, LL-HLS parts and init sections, caption cues): cached here. Playlists are not. */
const IMMUTABLE_FILE = /^(?:segment-\d{1,20}\.ts|(?:ll-)?captions-\d{1,20}\.vtt|ll-init-\d{1,9}\.mp4|ll-\d{1,15}\.m4s|ll-\d{1,15}\.\d{1,4}\.m4s)$/;
/** The owner holds a blocking playlist reload or a preload hint for at most three target durations; this leaves room beyond that. */
const OWNER_TIMEOUT_MS = 20_000;

/** One answer of the owner, as passed on to the player. */
interface OwnerAnswer {
  status: number;
  contentType: string;
  cacheControl: string;
  bytes: Buffer;
}

export interface HlsProxyOptions {
  redirects: ClusterRedirects;
  /** LIVEFX_CLUSTER_HLS_CACHE_MB in bytes; 0 caches nothing. */
  cacheBytes: number;
  log: Logger;
  /** `livefx_hls_proxy_files_total{cache}` goes here. */
  metrics: LivefxMetrics;
}

/**
 * HLS of a stream another node owns, served from this node: each request is made to the owner with a
 * signed viewer grant (access was checked here), playlists pass through uncached (LL-HLS blocking reload
 * parameters included), and segments and parts — immutable once written — are kept in a byte-bounded LRU,
 * so N players on this node cost the owner one fetch per segment. Concurrent misses share one fetch.
 */
export class HlsProxy {
  private readonly redirects: ClusterRedirects;
  private readonly maxBytes: number;
  private readonly log: Logger;
  /** Insertion order is recency: a hit is moved to the end, the front is evicted. */
  private readonly cache = new Map<string, OwnerAnswer>();
  private readonly fetching = new Map<string, Promise<OwnerAnswer>>();
  private cachedBytes = 0;
  private readonly files: Counter<'cache'>;

  constructor(options: HlsProxyOptions) {
    this.redirects = options.redirects;
    this.maxBytes = options.cacheBytes;
    this.log = options.log;
    this.files = new Counter({
      name: 'livefx_hls_proxy_files_total',
      help: "Segments and parts of other nodes' streams served here: from this node's cache (hit) or fetched from the owner (miss)",
      labelNames: ['cache'],
      registers: [options.metrics.registry],
    });
  }

  /** Answers `GET /hls/<id>/<file>` of `remote`'s stream with the owner's answer (or the cached copy of it). */
  async send(reply: FastifyReply, remote: RemoteStream, file: string, query: Record<string, unknown>): Promise<FastifyReply> {
    if (!IMMUTABLE_FILE.test(file) || this.maxBytes === 0) return answer(reply, await this.fromOwner(remote, file, query));
    // A stream taken over by another node after its owner died writes the same names anew: the claim is part of the key.
    const key = `${remote.node.id}|${remote.claimedAt}|${remote.record.id}/${file}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.files.inc({ cache: 'hit' });
      this.cache.delete(key);
      this.cache.set(key, cached);
      return answer(reply, cached);
    }
    let pending = this.fetching.get(key);
    // A request that joins a fetch under way costs the owner nothing either.
    this.files.inc({ cache: pending ? 'hit' : 'miss' });
    if (!pending) {
      pending = this.fromOwner(remote, file, query).then((fetched) => {
        if (fetched.status === 200) this.keep(key, fetched);
        return fetched;
      });
      this.fetching.set(key, pending);
      void pending.finally(() => this.fetching.delete(key)).catch(() => undefined);
    }
    return answer(reply, await pending);
  }

  /** Drops what is cached. */
  close(): void {
    this.cache.clear();
    this.cachedBytes = 0;
  }

  private keep(key: string, fetched: OwnerAnswer): void {
    if (fetched.bytes.length > this.maxBytes) return;
    this.cache.set(key, fetched);
    this.cachedBytes += fetched.bytes.length;
    for (const [oldest, entry] of this.cache) {
      if (this.cachedBytes <= this.maxBytes) break;
      this.cache.delete(oldest);
      this.cachedBytes -= entry.bytes.length;
    }
  }

  private async fromOwner(remote: RemoteStream, file: string, query: Record<string, unknown>): Promise<OwnerAnswer> {
    const url = new URL(`/hls/${encodeURIComponent(remote.record.id)}/${encodeURIComponent(file)}`, remote.node.url);
    // The player's query goes along (blocking reload parameters; a viewer link's token, which the owner writes into the playlist's URIs).
    for (const [name, value] of Object.entries(query)) if (typeof value === 'string' && name !== REDIRECT_PARAM) url.searchParams.set(name, value);
    url.searchParams.set(REDIRECT_PARAM, this.redirects.viewerGrant(remote.record.id));
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(OWNER_TIMEOUT_MS) });
      return {
        status: response.status,
        contentType: response.headers.get('content-type') ?? 'application/octet-stream',
        cacheControl: response.headers.get('cache-control') ?? 'no-cache',
        bytes: Buffer.from(await response.arrayBuffer()),
      };
    } catch (error) {
      this.log.warn({ err: error, streamId: remote.record.id, nodeId: remote.node.id, file }, 'HLS proxy: the owner did not answer');
      throw new LivefxError('node_not_ready', `the node that owns stream "${remote.record.id}" (${remote.node.id}) did not answer for "${file}"; try again shortly`, { cause: error });
    }
  }
}

function answer(reply: FastifyReply, from: OwnerAnswer): FastifyReply {
  return reply.code(from.status).header('Content-Type', from.contentType).header('Cache-Control', from.cacheControl).send(from.bytes);
}
