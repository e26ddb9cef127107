import { LivefxError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { IntervalTimer } from '../../core/interval-timer.js';
import { type Principal, requireViewerOf } from '../auth/access.js';
import type { StreamView } from '../streams/stream-view.js';
import { REDIRECT_PARAM, type ClusterRedirects } from './cluster-redirects.js';
import type { RemoteStream } from './node-cluster.js';

/** How often a followed stream's owner is looked for in the registry. */
const FOLLOW_INTERVAL_MS = 1000;
/** Looks in a row (FOLLOW_INTERVAL_MS apart) that must find no alive owner before the stream counts as ended. */
const GONE_AFTER_MISSES = 2;
/** A state request the owner has not answered by then counts as no answer. */
const VIEW_TIMEOUT_MS = 5000;

export type RemoteStreamStatesEvents = {
  /** A followed stream is gone with its owner: the owner died (the registry dropped it) or another node took the stream over. */
  ended: [streamId: string];
};

interface Followed {
  /** The owner and its claim, as first seen in the registry; undefined until the first look. */
  owner: { nodeId: string; claimedAt: string } | undefined;
  /** Looks in a row that found no alive owner: one can be a heartbeat late on a loaded machine; the next look confirms it. */
  misses: number;
  watchers: Set<string>;
  timer: IntervalTimer;
  busy: boolean;
}

export interface RemoteStreamStatesOptions {
  redirects: ClusterRedirects;
  log: Logger;
}

/**
 * Streams other nodes own, for this node's sockets and API: a stream's view read from its owner, and
 * the owners of the streams this node's sockets subscribed to, followed (one registry look a second per
 * stream, however many watchers). The owner's own `state` emits reach the sockets here through the
 * socket.io adapter, but a killed owner emits nothing: once the registry no longer lists it alive in two
 * looks a second apart (a `kill -9` drops it within 5 s), or another node has claimed the stream, the
 * stream has ended for the watchers here.
 */
export class RemoteStreamStates extends TypedEmitter<RemoteStreamStatesEvents> {
  private readonly redirects: ClusterRedirects;
  private readonly log: Logger;
  private readonly followed = new Map<string, Followed>();
  private closed = false;

  constructor(options: RemoteStreamStatesOptions) {
    super();
    this.redirects = options.redirects;
    this.log = options.log;
    this.listenerError = (event, error) => options.log.error({ err: error, event }, 'remote stream states listener failed');
  }

  /** The stream's view from its owner, once `principal` may watch it; undefined when no alive node owns it or the owner has no such stream. */
  async view(streamId: string, principal: Principal): Promise<{ view: StreamView; remote: RemoteStream } | undefined> {
    const remote = await this.redirects.remote(streamId);
    if (!remote) return undefined;
    requireViewerOf(principal, remote.record, 'watching');
    const view = await this.ownerView(remote).catch((error: unknown) => {
      throw new LivefxError('node_not_ready', `the node that owns stream "${streamId}" (${remote.node.id}) did not answer; try again shortly`, { cause: error });
    });
    return view ? { view, remote } : undefined;
  }

  /** Follows the stream's owner for `watcherId` (a socket) until unfollowed; `ended` tells when the owner is gone. */
  follow(streamId: string, watcherId: string): void {
    if (this.closed) return;
    let entry = this.followed.get(streamId);
    if (!entry) {
      const followed: Followed = { owner: undefined, misses: 0, watchers: new Set(), timer: new IntervalTimer(), busy: false };
      this.followed.set(streamId, followed);
      followed.timer.start(() => void this.check(streamId, followed), FOLLOW_INTERVAL_MS);
      entry = followed;
    }
    entry.watchers.add(watcherId);
  }

  unfollow(streamId: string, watcherId: string): void {
    const entry = this.followed.get(streamId);
    if (!entry) return;
    entry.watchers.delete(watcherId);
    if (entry.watchers.size === 0) this.stop(streamId, entry);
  }

  /** How many streams are followed now (tests, metrics). */
  get size(): number {
    return this.followed.size;
  }

  /** Stops following every stream. Idempotent. */
  close(): void {
    this.closed = true;
    for (const [streamId, entry] of this.followed) this.stop(streamId, entry);
  }

  private stop(streamId: string, entry: Followed): void {
    entry.timer.close();
    if (this.followed.get(streamId) === entry) this.followed.delete(streamId);
  }

  private async check(streamId: string, entry: Followed): Promise<void> {
    if (entry.busy) return;
    entry.busy = true;
    try {
      let now: RemoteStream | undefined;
      try {
        now = await this.redirects.remote(streamId);
      } catch {
        // Redis away: nothing can be concluded about the owner; the next tick asks again.
        return;
      }
      if (now && !entry.owner) {
        entry.owner = { nodeId: now.node.id, claimedAt: now.claimedAt };
        return;
      }
      if (now && now.node.id === entry.owner?.nodeId && now.claimedAt === entry.owner.claimedAt) {
        entry.misses = 0;
        return;
      }
      // Another claim is final at once; no alive owner is confirmed by the next look.
      if (!now && ++entry.misses < GONE_AFTER_MISSES) return;
      if (this.followed.get(streamId) !== entry) return;
      // A stream that ended on its alive owner was told through the adapter already; a second `ended` changes nothing on a page.
      this.log.info({ streamId, nodeId: entry.owner?.nodeId }, 'a stream another node owned is gone (ended, its owner died, or another node took it over): ended for the viewers here');
      this.stop(streamId, entry);
      this.safeEmit('ended', streamId);
    } finally {
      entry.busy = false;
    }
  }

  /** The owner's view of the stream; null when the owner says it has no such stream. */
  private async ownerView(remote: RemoteStream): Promise<StreamView | null> {
    const url = new URL(`/v1/streams/${encodeURIComponent(remote.record.id)}`, remote.node.url);
    url.searchParams.set(REDIRECT_PARAM, this.redirects.viewerGrant(remote.record.id));
    const response = await fetch(url, { signal: AbortSignal.timeout(VIEW_TIMEOUT_MS) });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`the owner answered ${response.status}`);
    return (await response.json()) as StreamView;
  }
}
