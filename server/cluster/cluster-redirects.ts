import type { FastifyReply } from 'fastify';
import { LivefxError } from '../../core/errors.js';
import { type Principal, requireViewerOf } from '../auth/access.js';
import { NodeCluster, hasViewerRoom, type NodeInfo, type RemoteStream } from './node-cluster.js';

/** A redirect to a stream's owner: 307 keeps the method and body (RFC 9725 §4.5 for WHIP and WHEP), never cached. */
export function sendRedirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(307).header('Location', location).header('Cache-Control', 'no-store').send();
}

/** The query parameter a redirect's signed token travels in. */
export const REDIRECT_PARAM = 'redirect';

/** Where a WHEP POST for a stream another node owns goes: a redirect (to the owner, or to a node that relays), or this node's relay of it. */
export type WhepRoute = { redirect: string } | { relayFrom: Pick<NodeInfo, 'id' | 'url'> };

/**
 * Where a request for a stream this node does not own goes: the owner's absolute URL. WHIP and WHEP
 * are checked here first (the stream key by its hash, a viewer's access by the stream's visibility),
 * then carry a short-lived signed token the owner accepts in place of `Authorization`, which
 * cross-origin redirects drop. Undefined when no alive node owns the stream (the caller's 404).
 */
export class ClusterRedirects {
  private readonly cluster: NodeCluster;

  constructor(options: { cluster: NodeCluster }) {
    this.cluster = options.cluster;
  }

  /** This node's public URL: the base of the absolute session URLs it answers with. */
  get baseUrl(): string {
    return this.cluster.url;
  }

  /** Whether `token` (a redirect's query parameter) grants `grant` on the stream. */
  accepts(token: unknown, grant: 'whip' | 'whep' | 'relay' | 'upstream', streamId: string): boolean {
    return this.cluster.tokens.verify(token, grant, streamId);
  }

  async whip(streamId: string, streamKey: string | undefined): Promise<string | undefined> {
    const remote = await this.remote(streamId);
    if (!remote) return undefined;
    if (!streamKey) throw new LivefxError('unauthorized', 'publishing needs the stream key as "Authorization: Bearer <streamKey>"');
    if (!NodeCluster.keyMatches(remote.record, streamKey)) throw new LivefxError('unauthorized', 'the stream key is wrong');
    return this.signed(remote.node.url, `/whip/${streamId}`, {}, 'whip', streamId);
  }

  /**
   * A viewer of a stream another node owns: redirected to the owner while it has room for viewers (and
   * always for `?source=original`); when it is full, relayed here if `roomHere`, else sent to another
   * node that has room (with a `relay` token, so that node relays without asking again). None: `no_capacity`.
   */
  async whep(streamId: string, principal: Principal, query: Record<string, unknown>, roomHere: boolean): Promise<WhepRoute | undefined> {
    const remote = await this.remote(streamId);
    if (!remote) return undefined;
    // Sent here by a node that checked the viewer's access and found the owner full.
    const sentToRelay = this.accepts(query[REDIRECT_PARAM], 'relay', streamId);
    if (!sentToRelay) requireViewerOf(principal, remote.record, 'WHEP');
    if (!sentToRelay && (query.source === 'original' || hasViewerRoom(remote.node))) return { redirect: this.signed(remote.node.url, `/whep/${streamId}`, query, 'whep', streamId) };
    if (roomHere) return { relayFrom: remote.node };
    return { redirect: await this.toRelay(streamId, query, [this.cluster.nodeId, remote.node.id]) };
  }

  /** The owner itself is full: a node with room for a viewer, which relays the stream (307 with a `relay` token); none: `no_capacity`. */
  async relayElsewhere(streamId: string, query: Record<string, unknown>): Promise<string> {
    return this.toRelay(streamId, query, [this.cluster.nodeId]);
  }

  private async toRelay(streamId: string, query: Record<string, unknown>, excluded: string[]): Promise<string> {
    const order = await this.registry(() => this.cluster.relayOrder(excluded), streamId);
    const node = order[0];
    if (!node) throw new LivefxError('no_capacity', `every node serves as many WebRTC viewers as it may (LIVEFX_MAX_VIEWERS); watch over HLS (/watch?stream=${streamId}&mode=hls) or try again shortly`);
    return this.signed(node.url, `/whep/${streamId}`, query, 'relay', streamId);
  }

  /** The same path and query on the owner (HLS and pages: their `?token=` works on every node). */
  async passOn(streamId: string, pathAndQuery: string): Promise<string | undefined> {
    const remote = await this.remote(streamId);
    return remote ? `${remote.node.url}${pathAndQuery}` : undefined;
  }

  /** A short-lived token that lets this node (or a client it sends) watch the stream on its owner: WHEP, HLS and the stream's view. */
  viewerGrant(streamId: string): string {
    return this.cluster.tokens.sign('whep', streamId);
  }

  /** The stream's owner when another alive node owns it; Redis unreachable: `node_not_ready`. */
  remote(streamId: string): Promise<RemoteStream | undefined> {
    return this.registry(() => this.cluster.remoteStream(streamId), streamId);
  }

  private async registry<T>(read: () => Promise<T>, streamId: string): Promise<T> {
    try {
      return await read();
    } catch (error) {
      throw new LivefxError('node_not_ready', `stream "${streamId}" needs the node registry (Redis, LIVEFX_REDIS_URL) to find the node that serves it, and it cannot be reached; try again shortly`, { cause: error });
    }
  }

  private signed(base: string, pathname: string, query: Record<string, unknown>, grant: 'whip' | 'whep' | 'relay', streamId: string): string {
    const url = new URL(pathname, base);
    for (const [name, value] of Object.entries(query)) if (typeof value === 'string' && name !== REDIRECT_PARAM && name !== 'token') url.searchParams.set(name, value);
    url.searchParams.set(REDIRECT_PARAM, this.cluster.tokens.sign(grant, streamId));
    return url.toString();
  }
}
