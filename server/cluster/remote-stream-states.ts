import { LivefxError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { IntervalTimer } from '../../core/interval-timer.js';
import { type Principal, requireViewerOf } from '../auth/access.js';
import type { StreamState, StreamView } from '../streams/stream-view.js';
import { REDIRECT_PARAM, type ClusterRedirects } from './cluster-redirects.js';
import type { RemoteStream } from './node-cluster.js';

/** How often a followed stream's owner is looked for in the registry and asked for its state. */
const FOLLOW_INTERVAL_MS = 1000;
/** A state request the owner has not answered by then counts as no answer (the next tick asks again). */
const VIEW_TIMEOUT_MS = 5000;

export type RemoteStreamStatesEvents = {
  /** A followed stream's state changed on its owner; `ended` also when the owner died (its claim lapsed) or another node took the stream over. */
  state: [streamId: string, state: StreamState];
};

interface Followed {
  remote: RemoteStream;
  state: StreamState;
  watchers: Set<string>;
  timer: IntervalTimer;
  busy: boolean;
}

export interface RemoteStreamStatesOptions {
  redirects: ClusterRedirects;
  log: Logger;
}

/**
 * The state of streams other nodes own, for this node's sockets: a page served here subscribes to a
 * stream whose owner is elsewhere, and this node follows it (one poll a second per stream, however many
 * watchers) — the owner's state, and the owner itself: once the registry no longer lists the owner
 * alive (a `kill -9` lapses its claim within 6 s), the stream has ended for the watchers here.
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

  /** Follows the stream for `watcherId` (a socket) until unfollowed; `state` events report its changes from `view.state` on. */
  follow(remote: RemoteStream, state: StreamState, watcherId: string): void {
    if (this.closed || state === 'ended') return;
    const streamId = remote.record.id;
    let entry = this.followed.get(streamId);
    if (!entry) {
      entry = { remote, state, watchers: new Set(), timer: new IntervalTimer(), busy: false };
      const followed = entry;
      this.followed.set(streamId, followed);
      followed.timer.start(() => void this.check(streamId, followed), FOLLOW_INTERVAL_MS);
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
      if (!now || now.node.id !== entry.remote.node.id || now.claimedAt !== entry.remote.claimedAt) {
        this.log.info({ streamId, nodeId: entry.remote.node.id }, 'a stream another node owned is gone with its owner: ended for the viewers here');
        return this.change(streamId, entry, 'ended');
      }
      const view = await this.ownerView(now).catch(() => undefined);
      if (view === undefined) return;
      this.change(streamId, entry, view === null ? 'ended' : view.state);
    } finally {
      entry.busy = false;
    }
  }

  private change(streamId: string, entry: Followed, state: StreamState): void {
    if (this.followed.get(streamId) !== entry || state === entry.state) return;
    entry.state = state;
    if (state === 'ended') this.stop(streamId, entry);
    this.safeEmit('state', streamId, state);
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
