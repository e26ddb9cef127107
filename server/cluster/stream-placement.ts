import type { Logger } from '../../core/logger.js';
import { LivefxError } from '../../core/errors.js';
import type { NodeCluster, NodeInfo } from './node-cluster.js';

/** The header a placed stream's creation carries to the chosen node: a signed token for the `place` grant. */
export const PLACEMENT_HEADER = 'x-livefx-placement';
/** A forwarded creation that takes longer than this is given up (the next node is tried). */
const FORWARD_TIMEOUT_MS = 10_000;

/** Where POST /v1/streams creates the stream: here, or the answer of the node it was created on. */
export type Placement = { here: true } | { here: false; status: number; body: unknown; node: NodeInfo };

/**
 * Places new streams across the nodes: most free processing slots first among alive serving nodes under
 * their CPU limit. Another node's creation is forwarded to it over HTTP with a signed placement token
 * (the request was already authorised here); a node that refuses (full since its last heartbeat) is
 * skipped for the next one. None left: 503 `no_capacity`. Redis unreachable: here.
 */
export class StreamPlacement {
  private readonly cluster: NodeCluster;
  private readonly log: Logger;

  constructor(options: { cluster: NodeCluster; log: Logger }) {
    this.cluster = options.cluster;
    this.log = options.log;
  }

  /** Whether this request is a creation another node placed here. */
  placedHere(header: unknown): boolean {
    return this.cluster.tokens.verify(header, 'place', '-');
  }

  async place(body: unknown): Promise<Placement> {
    let order: NodeInfo[];
    try {
      order = await this.cluster.placementOrder();
    } catch (error) {
      // Redis lost: this node goes on alone (its own LIVEFX_MAX_STREAMS still holds) rather than refusing every stream.
      this.log.warn({ err: error }, 'placement: the node registry cannot be read; creating the stream here');
      return { here: true };
    }
    for (const node of order) {
      if (node.id === this.cluster.nodeId) return { here: true };
      const answer = await this.forward(node, body);
      if (answer) return answer;
    }
    throw new LivefxError('no_capacity', 'no node can take a new stream now (every node is full, draining or over its CPU limit); try again shortly');
  }

  private async forward(node: NodeInfo, body: unknown): Promise<Placement | undefined> {
    try {
      const response = await fetch(`${node.url}/v1/streams`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PLACEMENT_HEADER]: this.cluster.tokens.sign('place', '-') },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      const answer: unknown = await response.json();
      if (response.status === 201) return { here: false, status: 201, body: answer, node };
      this.log.info({ nodeId: node.id, status: response.status, answer }, 'placement: the chosen node refused the stream; trying the next');
    } catch (error) {
      this.log.warn({ err: error, nodeId: node.id }, 'placement: the chosen node could not be reached; trying the next');
    }
    return undefined;
  }
}
