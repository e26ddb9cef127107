import { randomBytes } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import type { LiveStream } from '../streams/live-stream.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type { AudienceBus, AudienceBusMessage } from '../../core/audience-bus.js';
import { LocalAudienceBus } from '../../core/local-audience-bus.js';
import { CHAT_HISTORY_SIZE, REACTION_KINDS, emptyReactionCounts, type ChatMessage, type ReactionCounts, type ReactionKind, type ReactionsUpdate } from './audience-protocol.js';
import type { ModeratedChatMessage, ModerationActor, ModerationRecord, ModerationState, ViewerBan, ViewerMute } from './moderation-protocol.js';
import { ReactionTally } from './reaction-tally.js';
import { ViewerRestrictions } from './viewer-restrictions.js';

export interface ChatEvent extends ModeratedChatMessage {
  streamId: string;
}

export interface ReactionEvent {
  streamId: string;
  user: string;
  kind: ReactionKind;
  at: number;
}

export interface ViewersEvent {
  streamId: string;
  webrtc: number;
  hls: number;
  at: number;
}

/** An HLS viewer (a `/live` socket) on a node other than the stream's owner started or stopped watching. */
export interface WatchingEvent {
  streamId: string;
  /** Unique across nodes: the node's id and the socket's. */
  viewerKey: string;
  watching: boolean;
}

/** A viewer entered a stream's chat (read-only or with a name), on some node: every node remembers it for bans by address. */
interface SeenEvent {
  streamId: string;
  viewerId: string;
  address: string;
  user?: string;
  at: number;
}

/** An operator's moderation action, once it has taken effect. */
export interface ModerationEvent extends ModerationRecord {
  streamId: string;
  at: number;
}

export type AudienceHubEvents = {
  /** Every accepted chat message, once. */
  chat: [event: ChatEvent];
  /** Every accepted reaction, once (what the recorder archives). */
  reaction: [event: ReactionEvent];
  /** Aggregated counts, at most once per REACTIONS_BROADCAST_MS per stream (what pages are sent). */
  reactions: [update: ReactionsUpdate];
  /** The stream's WebRTC or HLS viewer count changed. */
  viewers: [event: ViewersEvent];
  /** A message removed, a viewer muted, unmuted, banned or unbanned (the namespaces enforce it, the recorder logs it). */
  moderation: [event: ModerationEvent];
  /** An HLS viewer on another node (the owner counts it). */
  watching: [event: WatchingEvent];
  /** The stream ended on its owner: its chat is closed on every node. */
  ended: [event: { streamId: string }];
};

/** What each kind of bus message carries. */
type BusBodies = {
  chat: ChatEvent;
  reaction: ReactionEvent;
  viewers: ViewersEvent;
  moderation: ModerationEvent;
  seen: SeenEvent;
  watching: WatchingEvent;
  ended: { streamId: string };
};

export interface AudienceHubOptions {
  registry: StreamRegistry;
  log: Logger;
  /** Where chat, reactions, moderation and viewer counts travel (every node's hub subscribes); in-process by default. */
  bus?: AudienceBus;
}

/** Pages redraw reaction counts at most 4 times a second, however fast viewers click. */
const REACTIONS_BROADCAST_MS = 250;
/** The live meter's window: long enough to show a burst, short enough to fall back to quiet. */
const RECENT_REACTIONS_WINDOW_S = 10;

/** Messages an operator can still remove (pages show at most 200; history sends the last CHAT_HISTORY_SIZE). */
const REMOVABLE_MESSAGES = 500;

interface StoredChatMessage extends ModeratedChatMessage {
  removed: boolean;
}

/** What the hub keeps per stream: the last messages, the reaction tally, the last viewer count, bans and mutes. */
class StreamAudience {
  /** The last REMOVABLE_MESSAGES messages by id, oldest first (removed ones stay, marked). */
  readonly recent = new Map<string, StoredChatMessage>();
  readonly restrictions = new ViewerRestrictions();
  readonly reactions = new ReactionTally(RECENT_REACTIONS_WINDOW_S);
  /** Totals and window as last broadcast, to tell whether anything changed. */
  broadcastKey = '';
  viewers = { webrtc: 0, hls: 0 };
}

/**
 * The audience side of every stream: chat history, reactions, viewer counts. It validates nothing
 * (the `/audience` namespace does) and is the in-process hook for whoever archives the audience
 * (the recorder): every message, reaction and viewer change is emitted exactly once.
 */
export class AudienceHub extends TypedEmitter<AudienceHubEvents> {
  private readonly streams = new Map<string, StreamAudience>();
  private readonly ticker: NodeJS.Timeout;
  private readonly log: Logger;
  private readonly bus: AudienceBus;
  private readonly unsubscribe: () => void;
  private isClosed = false;

  constructor(options: AudienceHubOptions) {
    super();
    const { registry } = options;
    this.log = options.log;
    this.listenerError = (event, error) => this.log.error({ err: error, event }, 'audience listener failed');
    this.bus = options.bus ?? new LocalAudienceBus();
    // What is accepted here is published; what is delivered (from this node or another) is stored and emitted.
    this.unsubscribe = this.bus.subscribe((message) => this.deliver(message));
    for (const stream of registry.list()) this.watch(stream);
    registry.on('newstream', (stream) => this.watch(stream));
    this.ticker = setInterval(() => this.broadcastReactions(), REACTIONS_BROADCAST_MS);
    this.ticker.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Stores a message (already validated and trimmed) and emits it. */
  postChat(streamId: string, user: string, text: string, viewerId: string): ChatMessage {
    const message: ChatMessage = { id: randomBytes(8).toString('base64url'), user, text, at: Date.now() };
    this.publish('chat', streamId, { streamId, ...message, viewerId });
    return message;
  }

  /** Counts a reaction and emits it; the aggregate goes out with the next broadcast tick. */
  react(streamId: string, user: string, kind: ReactionKind): void {
    this.publish('reaction', streamId, { streamId, user, kind, at: Date.now() });
  }

  /** The last CHAT_HISTORY_SIZE messages that were not removed, oldest first. */
  history(streamId: string): ChatMessage[] {
    return this.moderatedHistory(streamId).map(({ id, user, text, at }) => ({ id, user, text, at }));
  }

  /** The same, with each author's viewer id (for operators only). */
  moderatedHistory(streamId: string): ModeratedChatMessage[] {
    const kept: ModeratedChatMessage[] = [];
    for (const { removed, ...message } of this.streams.get(streamId)?.recent.values() ?? []) if (!removed) kept.push(message);
    return kept.slice(-CHAT_HISTORY_SIZE);
  }

  /** Notes a viewer entering a stream's chat, for bans by address (see ViewerRestrictions). */
  seeViewer(streamId: string, viewerId: string, address: string, user?: string): void {
    this.publish('seen', streamId, { streamId, viewerId, address, ...(user !== undefined ? { user } : {}), at: Date.now() });
  }

  /** An HLS viewer of a stream another node owns started or stopped watching here (the owner counts it). */
  watchRemote(streamId: string, viewerKey: string, watching: boolean): void {
    this.publish('watching', streamId, { streamId, viewerKey, watching });
  }

  knowsViewer(streamId: string, viewerId: string): boolean {
    return this.streams.get(streamId)?.restrictions.known(viewerId) ?? false;
  }

  banOf(streamId: string, viewerId: string, address: string): ViewerBan | undefined {
    return this.streams.get(streamId)?.restrictions.banOf(viewerId, address);
  }

  muteOf(streamId: string, viewerId: string, address: string): ViewerMute | undefined {
    return this.streams.get(streamId)?.restrictions.muteOf(viewerId, address, Date.now());
  }

  moderationState(streamId: string): ModerationState {
    return this.streams.get(streamId)?.restrictions.state(Date.now()) ?? { bans: [], mutes: [] };
  }

  /** Marks a recent message removed (it leaves the history) and emits it; undefined when it is not among the recent ones. */
  removeChat(streamId: string, messageId: string, actor: ModerationActor, reason?: string): { message: ModeratedChatMessage; alreadyRemoved: boolean } | undefined {
    const stored = this.streams.get(streamId)?.recent.get(messageId);
    if (!stored) return undefined;
    const { removed, ...message } = stored;
    if (removed) return { message, alreadyRemoved: true };
    stored.removed = true;
    this.moderated(streamId, { ...actor, action: 'remove-chat', messageId, viewerId: message.viewerId, user: message.user, ...(reason ? { reason } : {}) });
    return { message, alreadyRemoved: false };
  }

  mute(streamId: string, viewerId: string, seconds: number, actor: ModerationActor, reason?: string): ViewerMute {
    const restrictions = this.audienceOf(streamId).restrictions;
    const at = Date.now();
    const user = restrictions.userOf(viewerId);
    const mute: ViewerMute = { viewerId, ...(user !== undefined ? { user } : {}), ...(reason ? { reason } : {}), by: actor.by, at, until: at + seconds * 1000 };
    restrictions.mute(mute);
    this.moderated(streamId, { ...actor, action: 'mute-viewer', viewerId, ...(user !== undefined ? { user } : {}), seconds, ...(reason ? { reason } : {}) }, at);
    return mute;
  }

  /** False when the viewer was not muted. */
  unmute(streamId: string, viewerId: string, actor: ModerationActor): boolean {
    const restrictions = this.streams.get(streamId)?.restrictions;
    if (!restrictions?.unmute(viewerId, Date.now())) return false;
    this.moderated(streamId, { ...actor, action: 'unmute-viewer', viewerId, ...this.userField(restrictions, viewerId) });
    return true;
  }

  ban(streamId: string, viewerId: string, actor: ModerationActor, reason?: string): ViewerBan {
    const restrictions = this.audienceOf(streamId).restrictions;
    const at = Date.now();
    const ban: ViewerBan = { viewerId, ...this.userField(restrictions, viewerId), ...(reason ? { reason } : {}), by: actor.by, at };
    restrictions.ban(ban);
    this.moderated(streamId, { ...actor, action: 'ban-viewer', viewerId, ...this.userField(restrictions, viewerId), ...(reason ? { reason } : {}) }, at);
    return ban;
  }

  /** False when the viewer was not banned. */
  unban(streamId: string, viewerId: string, actor: ModerationActor): boolean {
    const restrictions = this.streams.get(streamId)?.restrictions;
    if (!restrictions?.unban(viewerId)) return false;
    this.moderated(streamId, { ...actor, action: 'unban-viewer', viewerId, ...this.userField(restrictions, viewerId) });
    return true;
  }

  reactionTotals(streamId: string): ReactionCounts {
    return { ...(this.streams.get(streamId)?.reactions.totals ?? emptyReactionCounts()) };
  }

  /** Stops the broadcast tick and drops every listener. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.unsubscribe();
    clearInterval(this.ticker);
    this.streams.clear();
    this.removeAllListeners();
  }

  private userField(restrictions: ViewerRestrictions, viewerId: string): { user?: string } {
    const user = restrictions.userOf(viewerId);
    return user === undefined ? {} : { user };
  }

  private moderated(streamId: string, record: ModerationRecord, at = Date.now()): void {
    this.publish('moderation', streamId, { streamId, ...record, at });
  }

  private publish<K extends keyof BusBodies>(kind: K, streamId: string, body: BusBodies[K]): void {
    this.bus.publish({ kind, streamId, body }).catch((error: unknown) => this.log.error({ err: error, kind, streamId }, 'audience event could not be published'));
  }

  /** A message off the bus: chat joins the stream's recent messages and reactions its tally before listeners hear of them. */
  private deliver(message: AudienceBusMessage): void {
    if (this.isClosed) return;
    switch (message.kind) {
      case 'chat': {
        const chat = message.body as ChatEvent;
        const { streamId: _streamId, ...stored } = chat;
        const recent = this.audienceOf(message.streamId).recent;
        recent.set(chat.id, { ...stored, removed: false });
        if (recent.size > REMOVABLE_MESSAGES) recent.delete(recent.keys().next().value!);
        return this.safeEmit('chat', chat);
      }
      case 'reaction': {
        const reaction = message.body as ReactionEvent;
        this.audienceOf(message.streamId).reactions.add(reaction.kind, reaction.at);
        return this.safeEmit('reaction', reaction);
      }
      case 'viewers':
        return this.safeEmit('viewers', message.body as ViewersEvent);
      case 'moderation': {
        const event = message.body as ModerationEvent;
        // The node that acted applied it already; every other node applies it to its copy of the stream's chat.
        if (message.origin !== this.bus.nodeId) this.applyModeration(event);
        return this.safeEmit('moderation', event);
      }
      case 'seen': {
        const { viewerId, address, user, at } = message.body as SeenEvent;
        this.audienceOf(message.streamId).restrictions.see(viewerId, address, user, at);
        return;
      }
      case 'watching':
        return this.safeEmit('watching', message.body as WatchingEvent);
      case 'ended':
        this.streams.delete(message.streamId);
        return this.safeEmit('ended', { streamId: message.streamId });
      case 'reactions':
        // Aggregates are made on every node from the reactions it was delivered: never relayed.
        return;
    }
  }

  /** Another node's moderation action, on this node's copy of the stream's chat. */
  private applyModeration(event: ModerationEvent): void {
    const audience = this.audienceOf(event.streamId);
    const { viewerId, user, reason, by, at } = event;
    const details = { ...(user !== undefined ? { user } : {}), ...(reason ? { reason } : {}), by, at };
    switch (event.action) {
      case 'remove-chat': {
        const stored = event.messageId === undefined ? undefined : audience.recent.get(event.messageId);
        if (stored) stored.removed = true;
        return;
      }
      case 'mute-viewer':
        if (viewerId !== undefined && event.seconds !== undefined) audience.restrictions.mute({ viewerId, ...details, until: at + event.seconds * 1000 });
        return;
      case 'unmute-viewer':
        if (viewerId !== undefined) audience.restrictions.unmute(viewerId, Date.now());
        return;
      case 'ban-viewer':
        if (viewerId !== undefined) audience.restrictions.ban({ viewerId, ...details });
        return;
      case 'unban-viewer':
        if (viewerId !== undefined) audience.restrictions.unban(viewerId);
        return;
    }
  }

  private audienceOf(streamId: string): StreamAudience {
    let audience = this.streams.get(streamId);
    if (!audience) this.streams.set(streamId, (audience = new StreamAudience()));
    return audience;
  }

  private watch(stream: LiveStream): void {
    stream.on('stats', (stats) => this.updateViewers(stream.id, stats.viewers.webrtc, stats.viewers.hls));
    stream.on('state', (state) => {
      if (state !== 'ended') return;
      // The stream's viewers are all gone now; say so before forgetting it, and send the last reactions.
      this.updateViewers(stream.id, 0, 0);
      this.broadcastReactions();
      this.publish('ended', stream.id, { streamId: stream.id });
    });
  }

  private updateViewers(streamId: string, webrtc: number, hls: number): void {
    if (this.isClosed) return;
    const audience = this.streams.get(streamId);
    const last = audience?.viewers ?? { webrtc: 0, hls: 0 };
    if (last.webrtc === webrtc && last.hls === hls) return;
    this.audienceOf(streamId).viewers = { webrtc, hls };
    this.publish('viewers', streamId, { streamId, webrtc, hls, at: Date.now() });
  }

  /** One `reactions` update per stream whose totals or window changed since the last one. */
  private broadcastReactions(): void {
    const now = Date.now();
    for (const [streamId, audience] of this.streams) {
      const { totals } = audience.reactions;
      if (audience.broadcastKey === '' && REACTION_KINDS.every((kind) => totals[kind] === 0)) continue;
      const recent = audience.reactions.recent(now);
      const key = REACTION_KINDS.map((kind) => `${totals[kind]}/${recent[kind]}`).join(',');
      if (key === audience.broadcastKey) continue;
      audience.broadcastKey = key;
      this.safeEmit('reactions', { streamId, totals: { ...totals }, recent, windowS: RECENT_REACTIONS_WINDOW_S, at: now });
    }
  }
}
