import { LivefxError, isErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type { Sfu, SfuSubscriber, SfuUpstream } from '../sfu/sfu.js';
import type { ClusterTokens } from './cluster-tokens.js';
import { REDIRECT_PARAM } from './cluster-redirects.js';

/** The owner must answer the relay's WHEP offer within this. */
const SUBSCRIBE_TIMEOUT_MS = 10_000;
/** A subscription not connected this long after the owner's answer is replaced, up to CONNECT_ATTEMPTS times in all. */
const CONNECT_TIMEOUT_MS = 6000;
const CONNECT_ATTEMPTS = 4;
/** The owner's encoder is asked for a keyframe at most this often, however many relayed viewers join or lose pictures. */
const KEYFRAME_REQUEST_INTERVAL_MS = 500;

export type StreamRelayEvents = {
  /** The relay ended (its last viewer left the grace period, the owner's stream ended, or this node closes). */
  closed: [reason: string];
  /** Its relayed viewers changed (the node's load changed). */
  viewers: [count: number];
};

export interface StreamRelayOptions {
  streamId: string;
  /** The node that owns the stream (its processed output is subscribed to once). */
  owner: { id: string; url: string };
  sfu: Sfu;
  /** Signs the `upstream` grant the owner accepts in place of a viewer's token (node-to-node). */
  tokens: ClusterTokens;
  /** How long the subscription outlives its last viewer (LIVEFX_RELAY_GRACE_S). */
  graceMs: number;
  log: Logger;
}

/**
 * One stream relayed through this node: a single WHEP subscription to the owner's processed output,
 * whose RTP packets go unchanged (no decode, no encode) to this node's own WHEP viewers through the
 * same SFU path local viewers use. Reference-counted by its viewers; closed `graceMs` after the last left.
 */
export class StreamRelay extends TypedEmitter<StreamRelayEvents> {
  readonly streamId: string;
  readonly ownerId: string;
  private readonly options: StreamRelayOptions;
  private readonly subscribers = new Map<string, SfuSubscriber>();
  private upstream: SfuUpstream | undefined;
  private sessionUrl: string | undefined;
  private opening: Promise<void> | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private lastKeyframeRequestMs = 0;
  private closing: Promise<void> | undefined;

  constructor(options: StreamRelayOptions) {
    super();
    this.options = options;
    this.streamId = options.streamId;
    this.ownerId = options.owner.id;
    this.listenerError = (event, error) => options.log.error({ err: error, event, streamId: this.streamId }, 'stream relay listener failed');
  }

  get viewers(): number {
    return this.subscribers.size;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Subscribes to the owner (once: concurrent callers share the attempt); a refusal closes the relay and is thrown. */
  open(): Promise<void> {
    this.opening ??= this.subscribe().catch(async (error: unknown) => {
      await this.close(`the subscription to the owner failed: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    });
    return this.opening;
  }

  /** Serves one more viewer from the subscription; cancels a pending teardown. */
  add(subscriber: SfuSubscriber): void {
    if (this.closing) throw new LivefxError('stream_ended', `the relay of stream "${this.streamId}" has ended`);
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.subscribers.set(subscriber.id, subscriber);
    subscriber.on('keyframe-request', () => this.requestKeyframe());
    subscriber.on('connection-state', (state) => {
      if (state === 'connected') this.requestKeyframe();
      if (state === 'failed' || state === 'closed') void this.remove(subscriber.id);
    });
    this.safeEmit('viewers', this.subscribers.size);
  }

  has(subscriberId: string): boolean {
    return this.subscribers.has(subscriberId);
  }

  /** A viewer left; after the last one the subscription is kept `graceMs` for a viewer who comes back. */
  async remove(subscriberId: string): Promise<void> {
    const subscriber = this.subscribers.get(subscriberId);
    if (!subscriber) return;
    this.subscribers.delete(subscriberId);
    this.safeEmit('viewers', this.subscribers.size);
    this.armGrace();
    await subscriber.close();
  }

  /** With no viewer, the relay ends after the grace period unless one joins. */
  private armGrace(): void {
    if (this.subscribers.size > 0 || this.closing || this.graceTimer) return;
    this.graceTimer = setTimeout(() => void this.close('no viewer for the grace period'), this.options.graceMs);
  }

  /** Ends the relay: its viewers, and the subscription on the owner (DELETE of the session). Idempotent. */
  close(reason = 'closed'): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.graceTimer);
      clearTimeout(this.connectTimer);
      const viewers = [...this.subscribers.values()];
      this.subscribers.clear();
      await Promise.allSettled(viewers.map((subscriber) => subscriber.close()));
      await this.upstream?.close();
      if (this.sessionUrl) await fetch(this.sessionUrl, { method: 'DELETE', signal: AbortSignal.timeout(SUBSCRIBE_TIMEOUT_MS) }).catch(() => undefined);
      this.options.log.info({ streamId: this.streamId, ownerId: this.ownerId, reason }, 'relay closed');
      this.safeEmit('closed', reason);
    })();
    return this.closing;
  }

  private async subscribe(attempt = 1): Promise<void> {
    const upstream = (this.upstream = this.options.sfu.createUpstream());
    let connected = false;
    upstream.on('video', (packet) => {
      for (const subscriber of this.subscribers.values()) subscriber.sendVideo(packet);
    });
    upstream.on('audio', (packet) => {
      for (const subscriber of this.subscribers.values()) subscriber.sendAudio(packet);
    });
    upstream.on('connection-state', (state) => {
      this.options.log.debug({ streamId: this.streamId, ownerId: this.ownerId, state, attempt }, 'relay subscription connection state');
      if (state === 'connected') {
        connected = true;
        clearTimeout(this.connectTimer);
        this.requestKeyframe();
      }
      // Once media flowed, a lost subscription is the owner's stream ending (or the owner dying): the relay ends.
      if ((state === 'failed' || state === 'closed') && connected) void this.close(`the subscription to the owner is ${state}`);
      if (state === 'failed' && !connected) void this.retry(upstream, attempt, 'its connection failed');
    });
    const url = new URL(`/whep/${encodeURIComponent(this.streamId)}`, this.options.owner.url);
    url.searchParams.set(REDIRECT_PARAM, this.options.tokens.sign('upstream', this.streamId));
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: await upstream.offer(), redirect: 'manual', signal: AbortSignal.timeout(SUBSCRIBE_TIMEOUT_MS) });
    if (response.status !== 201) throw await ownerRefusal(response, this.options.owner.id);
    this.sessionUrl = new URL(response.headers.get('location') ?? '', url).toString();
    await upstream.accept(await response.text());
    this.options.log.info({ streamId: this.streamId, ownerId: this.ownerId, attempt }, 'relay subscribed to the owner');
    // A subscription whose ICE/DTLS never completes is replaced (seen on a loaded machine: one in a few stayed "connecting").
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (!connected) void this.retry(upstream, attempt, `it did not connect within ${CONNECT_TIMEOUT_MS} ms`);
    }, CONNECT_TIMEOUT_MS);
    // A viewer whose own session then fails to open must not leave the subscription behind.
    this.armGrace();
  }

  /** Replaces a subscription that never connected with a new one (its session on the owner is given back); after the last try, the relay ends. */
  private async retry(failed: SfuUpstream, attempt: number, why: string): Promise<void> {
    if (this.closing || this.upstream !== failed) return;
    clearTimeout(this.connectTimer);
    const sessionUrl = this.sessionUrl;
    this.sessionUrl = undefined;
    await failed.close();
    if (sessionUrl) await fetch(sessionUrl, { method: 'DELETE', signal: AbortSignal.timeout(SUBSCRIBE_TIMEOUT_MS) }).catch(() => undefined);
    if (attempt >= CONNECT_ATTEMPTS) {
      await this.close(`the subscription to the owner failed ${attempt} times (${why})`);
      return;
    }
    this.options.log.warn({ streamId: this.streamId, ownerId: this.ownerId, attempt, why }, 'relay subscription to the owner is replaced');
    await this.subscribe(attempt + 1).catch((error: unknown) => this.close(`the subscription to the owner failed: ${error instanceof Error ? error.message : String(error)}`));
  }

  private requestKeyframe(): void {
    const now = Date.now();
    if (now - this.lastKeyframeRequestMs < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.lastKeyframeRequestMs = now;
    this.upstream?.requestKeyframe();
  }
}

/** The owner's refusal as this node's own (its code when it is one of ours: `stream_ended`, `stream_not_found`, …). */
async function ownerRefusal(response: Response, ownerId: string): Promise<LivefxError> {
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined;
  const code = body?.error?.code;
  if (isErrorCode(code) && response.status < 500) return new LivefxError(code, String(body?.error?.message ?? code));
  return new LivefxError('node_not_ready', `the stream's owner (node "${ownerId}") did not take this node's relay subscription (HTTP ${response.status}); try again shortly`);
}
