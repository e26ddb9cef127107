import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { LiveStream } from '../streams/live-stream.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { TypedEmitter } from '../typed-emitter.js';
import { CHAT_HISTORY_SIZE, REACTION_KINDS, emptyReactionCounts, type ChatMessage, type ReactionCounts, type ReactionKind, type ReactionsUpdate } from './audience-protocol.js';
import { ReactionTally } from './reaction-tally.js';

export interface ChatEvent extends ChatMessage {
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

/** An operator's moderation action (declared for the recorder; the operator console does not send any yet). */
export interface ModerationEvent {
  streamId: string;
  action: 'delete-message' | 'mute-user';
  messageId?: string;
  user?: string;
  by: string;
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
  moderation: [event: ModerationEvent];
};

/** Pages redraw reaction counts at most 4 times a second, however fast viewers click. */
const REACTIONS_BROADCAST_MS = 250;
/** The live meter's window: long enough to show a burst, short enough to fall back to quiet. */
const RECENT_REACTIONS_WINDOW_S = 10;

/** What the hub keeps per stream: the last messages, the reaction tally, the last viewer count. */
class StreamAudience {
  readonly history: ChatMessage[] = [];
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
  private isClosed = false;

  constructor(
    registry: StreamRegistry,
    private readonly log: Logger,
  ) {
    super();
    this.listenerError = (event, error) => this.log.error({ err: error, event }, 'audience listener failed');
    for (const stream of registry.list()) this.watch(stream);
    registry.onCreated((stream) => this.watch(stream));
    this.ticker = setInterval(() => this.broadcastReactions(), REACTIONS_BROADCAST_MS);
    this.ticker.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Stores a message (already validated and trimmed) and emits it. */
  postChat(streamId: string, user: string, text: string): ChatMessage {
    const message: ChatMessage = { id: randomBytes(8).toString('base64url'), user, text, at: Date.now() };
    const history = this.audienceOf(streamId).history;
    history.push(message);
    if (history.length > CHAT_HISTORY_SIZE) history.splice(0, history.length - CHAT_HISTORY_SIZE);
    this.safeEmit('chat', { streamId, ...message });
    return message;
  }

  /** Counts a reaction and emits it; the aggregate goes out with the next broadcast tick. */
  react(streamId: string, user: string, kind: ReactionKind): void {
    const at = Date.now();
    this.audienceOf(streamId).reactions.add(kind, at);
    this.safeEmit('reaction', { streamId, user, kind, at });
  }

  /** The last CHAT_HISTORY_SIZE messages, oldest first. */
  history(streamId: string): ChatMessage[] {
    return [...(this.streams.get(streamId)?.history ?? [])];
  }

  reactionTotals(streamId: string): ReactionCounts {
    return { ...(this.streams.get(streamId)?.reactions.totals ?? emptyReactionCounts()) };
  }

  /** Stops the broadcast tick and drops every listener. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.ticker);
    this.streams.clear();
    this.removeAllListeners();
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
      this.streams.delete(stream.id);
    });
  }

  private updateViewers(streamId: string, webrtc: number, hls: number): void {
    if (this.isClosed) return;
    const audience = this.streams.get(streamId);
    const last = audience?.viewers ?? { webrtc: 0, hls: 0 };
    if (last.webrtc === webrtc && last.hls === hls) return;
    this.audienceOf(streamId).viewers = { webrtc, hls };
    this.safeEmit('viewers', { streamId, webrtc, hls, at: Date.now() });
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
