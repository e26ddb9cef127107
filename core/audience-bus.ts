/**
 * The audience events that cross nodes: what viewers and operators of one stream must all see, plus
 * what every node needs to enforce moderation and count viewers (`seen`: a viewer entered the chat,
 * from an address; `watching`: an HLS viewer on a node other than the owner; `ended`: the stream ended).
 */
export type AudienceEventKind = 'chat' | 'reaction' | 'reactions' | 'viewers' | 'moderation' | 'seen' | 'watching' | 'ended';

/** One audience event on the bus: plain data (it may be serialised), tagged with its stream and the node that published it. */
export interface AudienceBusMessage {
  kind: AudienceEventKind;
  streamId: string;
  /** The node that published it. */
  origin: string;
  /** The event itself (the audience hub's event object for `kind`). */
  body: unknown;
}

export type AudienceBusListener = (message: AudienceBusMessage) => void;

/**
 * Chat, reactions, moderation and viewer counts of every stream, published once and delivered to every
 * subscriber on every node: the seam `RedisAudienceBus` (one Redis stream) implements for multi-node
 * live. `LocalAudienceBus`, the in-process default, delivers within this process.
 */
export interface AudienceBus {
  /** This node's id (the `origin` of what it publishes). */
  readonly nodeId: string;
  /** Resolves once the message is handed to the bus (the local bus has delivered it by then). */
  publish(message: Omit<AudienceBusMessage, 'origin'>): Promise<void>;
  /** Every message of every stream from now on, this node's own included; returns the unsubscribe. */
  subscribe(listener: AudienceBusListener): () => void;
  /** Stops delivering. Idempotent. */
  close(): Promise<void>;
}
