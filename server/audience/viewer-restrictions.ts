import type { ModerationState, ViewerBan, ViewerMute } from './moderation-protocol.js';

/** Viewers remembered per stream (who was here before a ban); beyond this the earliest are forgotten. */
const MAX_SEEN_VIEWERS = 50_000;

interface SeenViewer {
  firstSeenMs: number;
  addresses: Set<string>;
  user?: string;
}

/** A ban or a mute, with the addresses its viewer was seen from. */
type Restriction<T extends ViewerBan | ViewerMute> = T & { addresses: readonly string[] };

/**
 * The bans and mutes of one stream's chat. A restriction applies to its viewer id, and to any
 * viewer id that first shows up after it from one of the restricted viewer's addresses: clearing
 * local storage does not get a banned viewer back in, while the people already chatting from the
 * same address (a household, an office behind one NAT) keep their place.
 */
export class ViewerRestrictions {
  private readonly seen = new Map<string, SeenViewer>();
  private readonly bans = new Map<string, Restriction<ViewerBan>>();
  private readonly mutes = new Map<string, Restriction<ViewerMute>>();

  /** Notes a viewer joining the chat (read-only or with a name) from an address. */
  see(viewerId: string, address: string, user: string | undefined, nowMs: number): void {
    let viewer = this.seen.get(viewerId);
    if (!viewer) {
      if (this.seen.size >= MAX_SEEN_VIEWERS) this.seen.delete(this.seen.keys().next().value!);
      this.seen.set(viewerId, (viewer = { firstSeenMs: nowMs, addresses: new Set() }));
    }
    viewer.addresses.add(address);
    if (user !== undefined) viewer.user = user;
  }

  /** True when the viewer has joined this stream's chat. */
  known(viewerId: string): boolean {
    return this.seen.has(viewerId);
  }

  /** The name the viewer last joined with. */
  userOf(viewerId: string): string | undefined {
    return this.seen.get(viewerId)?.user;
  }

  ban(ban: ViewerBan): void {
    this.bans.set(ban.viewerId, { ...ban, addresses: this.addressesOf(ban.viewerId) });
    this.mutes.delete(ban.viewerId);
  }

  /** False when the viewer was not banned. */
  unban(viewerId: string): boolean {
    return this.bans.delete(viewerId);
  }

  mute(mute: ViewerMute): void {
    this.mutes.set(mute.viewerId, { ...mute, addresses: this.addressesOf(mute.viewerId) });
  }

  /** False when the viewer was not muted (or the mute had run out). */
  unmute(viewerId: string, nowMs: number): boolean {
    const mute = this.mutes.get(viewerId);
    this.mutes.delete(viewerId);
    return mute !== undefined && mute.until > nowMs;
  }

  /** The ban that keeps this viewer, connecting from this address, out of the chat. */
  banOf(viewerId: string, address: string): ViewerBan | undefined {
    return this.find(this.bans, viewerId, address);
  }

  /** The mute in force for this viewer now; mutes that ran out are dropped. */
  muteOf(viewerId: string, address: string, nowMs: number): ViewerMute | undefined {
    for (const [id, mute] of this.mutes) if (mute.until <= nowMs) this.mutes.delete(id);
    return this.find(this.mutes, viewerId, address);
  }

  state(nowMs: number): ModerationState {
    for (const [id, mute] of this.mutes) if (mute.until <= nowMs) this.mutes.delete(id);
    const bans = [...this.bans.values()].map(({ addresses: _addresses, ...ban }) => ban);
    const mutes = [...this.mutes.values()].map(({ addresses: _addresses, ...mute }) => mute);
    return { bans, mutes };
  }

  private addressesOf(viewerId: string): string[] {
    return [...(this.seen.get(viewerId)?.addresses ?? [])];
  }

  private find<T extends ViewerBan | ViewerMute>(restrictions: Map<string, Restriction<T>>, viewerId: string, address: string): T | undefined {
    const direct = restrictions.get(viewerId);
    if (direct) return direct;
    if (restrictions.size === 0) return undefined;
    const firstSeenMs = this.seen.get(viewerId)?.firstSeenMs ?? Number.POSITIVE_INFINITY;
    for (const restriction of restrictions.values()) {
      if (firstSeenMs > restriction.at && restriction.addresses.includes(address)) return restriction;
    }
    return undefined;
  }
}
