import { LivefxError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { LiveStream } from '../streams/live-stream.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { NodeCluster } from './node-cluster.js';

export interface StreamTakeoverOptions {
  cluster: NodeCluster;
  registry: StreamRegistry;
  /** False while this node drains: it takes no stream over. */
  accepting: () => boolean;
  log: Logger;
}

/**
 * A publisher whose node died publishes again through any node with the same stream id and key: the node
 * the WHIP POST reaches takes the stream over (claims it, recreates it with the same id, title, visibility
 * and key, and makes it known), so viewers that reconnect through any node follow it there. Possible while
 * the stream's shared record is kept (10 minutes after its owner's last heartbeat) and once the dead
 * owner's claim has lapsed.
 */
export class StreamTakeover {
  private readonly cluster: NodeCluster;
  private readonly registry: StreamRegistry;
  private readonly accepting: () => boolean;
  private readonly log: Logger;

  constructor(options: StreamTakeoverOptions) {
    ({ cluster: this.cluster, registry: this.registry, accepting: this.accepting, log: this.log } = options);
  }

  /** Takes over a stream no alive node owns for the publisher holding its key; undefined when there is no such stream (the caller's 404). */
  async takeOver(streamId: string, streamKey: string | undefined): Promise<LiveStream | undefined> {
    const orphan = await this.cluster.orphanStream(streamId).catch((error: unknown) => {
      throw new LivefxError('node_not_ready', `stream "${streamId}" is not on this node, and the node registry (Redis, LIVEFX_REDIS_URL) cannot be reached to find it; try again shortly`, { cause: error });
    });
    if (!orphan) return undefined;
    if (!streamKey) throw new LivefxError('unauthorized', 'publishing needs the stream key as "Authorization: Bearer <streamKey>"');
    if (!NodeCluster.keyMatches(orphan.record, streamKey)) throw new LivefxError('unauthorized', 'the stream key is wrong');
    if (!orphan.claimLapsed) throw new LivefxError('node_not_ready', `stream "${streamId}" was on node "${orphan.record.nodeId}", which has stopped; it can be published again once that node's claim lapses (within seconds): try again shortly`);
    if (!this.accepting() || this.registry.openCount() >= this.registry.maxStreams) {
      throw new LivefxError('no_capacity', `this node cannot take stream "${streamId}" over now (it is full or draining); publish it again through another node`);
    }
    const claim = await this.cluster.directory.claim(streamId);
    if (!claim.claimed) throw new LivefxError('node_not_ready', `node "${claim.owner.nodeId}" took stream "${streamId}" over at the same moment; try again (you will be redirected there)`);
    // Two publishers' requests raced here: the first made the stream (the second is then refused as already publishing).
    const existing = this.registry.get(streamId);
    if (existing) return existing;
    const { record } = orphan;
    const stream = this.registry.create(record.title ?? streamId, { id: streamId, streamKey, record: record.record ?? true, visibility: record.visibility });
    await this.cluster.publishStream(stream).catch((error: unknown) => this.log.warn({ err: error, streamId }, 'node registry: the taken-over stream record could not be written (Redis)'));
    this.log.info({ streamId, deadNode: record.nodeId }, 'took over a stream whose node died: its publisher publishes here');
    return stream;
  }
}
