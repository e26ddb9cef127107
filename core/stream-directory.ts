/** Where one live stream lives: the node that owns its publisher, pipeline and viewers. */
export interface StreamLocation {
  streamId: string;
  /** The owning node (LIVEFX node id; `local` for a single server). */
  nodeId: string;
  /** ISO date of the claim. */
  claimedAt: string;
}

/** A claim either made (this node owns the stream now) or refused (another node owns it). */
export type StreamClaim = { claimed: true; location: StreamLocation } | { claimed: false; owner: StreamLocation };

/**
 * Which node owns which live stream: the seam a shared directory (Redis, one owner per stream claimed
 * atomically) implements for multi-node live. Every call is asynchronous; `LocalStreamDirectory`, the
 * in-process default, knows only this server's streams.
 */
export interface StreamDirectory {
  /** This node's id, as it appears in the locations it claims. */
  readonly nodeId: string;
  /** Who owns the stream; undefined when no node does. */
  lookup(streamId: string): Promise<StreamLocation | undefined>;
  /** Claims the stream for this node; refused (never overwritten) when another node owns it. Claiming an own stream again is a success. */
  claim(streamId: string): Promise<StreamClaim>;
  /** Gives up this node's claim; a claim held by another node is left alone. */
  release(streamId: string): Promise<void>;
  /** Every claimed stream, in claim order. */
  list(): Promise<StreamLocation[]>;
  /** Releases nothing by itself (streams release as they end) and stops talking to the backend. Idempotent. */
  close(): Promise<void>;
}
