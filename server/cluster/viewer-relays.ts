import type { Logger } from '../../core/logger.js';
import type { Sfu, SfuSubscriber } from '../sfu/sfu.js';
import type { ClusterTokens } from './cluster-tokens.js';
import { StreamRelay } from './stream-relay.js';

export interface ViewerRelaysOptions {
  sfu: Sfu;
  tokens: ClusterTokens;
  /** LIVEFX_RELAY_GRACE_S in ms. */
  graceMs: number;
  log: Logger;
  /** Relayed viewers or relays changed (the heartbeat reports them at once). */
  onChange?: () => void;
}

/** What GET /v1/nodes tells of one relay. */
export interface RelaySummary {
  streamId: string;
  ownerId: string;
  viewers: number;
}

/** The streams this node relays for their full owners: at most one relay per stream, made on its first viewer. */
export class ViewerRelays {
  private readonly options: ViewerRelaysOptions;
  private readonly relays = new Map<string, StreamRelay>();
  private closing: Promise<void> | undefined;

  constructor(options: ViewerRelaysOptions) {
    this.options = options;
  }

  /** Serves a viewer of `streamId` through this node's relay of it, subscribing to `owner` first when there is none. */
  async join(streamId: string, owner: { id: string; url: string }, offerSdp: string): Promise<{ subscriber: SfuSubscriber; answerSdp: string }> {
    const relay = this.relayOf(streamId, owner);
    await relay.open();
    const { subscriber, answerSdp } = await this.options.sfu.createSubscriber(offerSdp, 'H264');
    try {
      relay.add(subscriber);
    } catch (error) {
      await subscriber.close();
      throw error;
    }
    return { subscriber, answerSdp };
  }

  /** The relay serving this WHEP session, if one here does. */
  relayWith(streamId: string, sessionId: string): StreamRelay | undefined {
    const relay = this.relays.get(streamId);
    return relay?.has(sessionId) ? relay : undefined;
  }

  /** Viewers served through relays now. */
  get viewers(): number {
    let total = 0;
    for (const relay of this.relays.values()) total += relay.viewers;
    return total;
  }

  list(): RelaySummary[] {
    return [...this.relays.values()].map((relay) => ({ streamId: relay.streamId, ownerId: relay.ownerId, viewers: relay.viewers }));
  }

  /** Ends every relay (their viewers, and their subscriptions on the owners). Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled([...this.relays.values()].map((relay) => relay.close('this node is shutting down'))).then(() => undefined);
    return this.closing;
  }

  private relayOf(streamId: string, owner: { id: string; url: string }): StreamRelay {
    const existing = this.relays.get(streamId);
    if (existing && !existing.closed && existing.ownerId === owner.id) return existing;
    // A relay of the stream's former owner (it died, and another node took the stream over) ends with it.
    if (existing && !existing.closed) void existing.close(`stream "${streamId}" is now owned by node "${owner.id}"`);
    const { sfu, tokens, graceMs, log, onChange } = this.options;
    const relay = new StreamRelay({ streamId, owner, sfu, tokens, graceMs, log });
    this.relays.set(streamId, relay);
    relay.on('viewers', () => onChange?.());
    relay.on('closed', () => {
      if (this.relays.get(streamId) === relay) this.relays.delete(streamId);
      onChange?.();
    });
    return relay;
  }
}
