// The `/audience` wire format, shared by the server and the pages (no imports: the pages compile it too).

export const REACTION_KINDS = ['like', 'laugh', 'wow', 'clap', 'heart'] as const;
export type ReactionKind = (typeof REACTION_KINDS)[number];
export type ReactionCounts = Record<ReactionKind, number>;

/** Limits a viewer sees in error messages and the pages enforce before sending. */
export const CHAT_NAME_MAX_CHARS = 32;
export const CHAT_TEXT_MAX_CHARS = 500;
/** Messages a joining page receives, newest last. */
export const CHAT_HISTORY_SIZE = 50;

/** One chat message as stored and sent: plain text, never HTML (pages render it with textContent). */
export interface ChatMessage {
  id: string;
  user: string;
  text: string;
  /** Server receive time, ms since the Unix epoch. */
  at: number;
}

/** What `/audience` broadcasts to a stream's room a few times a second at most, while reactions change. */
export interface ReactionsUpdate {
  streamId: string;
  /** Reactions since the stream was created. */
  totals: ReactionCounts;
  /** Reactions in the last `windowS` seconds (what the pages' live meter shows). */
  recent: ReactionCounts;
  windowS: number;
  at: number;
}

export type AudienceErrorCode =
  | 'invalid_request'
  | 'not_found'
  | 'stream_ended'
  | 'not_joined'
  | 'rate_limited'
  | 'message_too_long'
  | 'forbidden'
  | 'muted'
  | 'banned'
  | 'internal_error';

export interface AudienceError {
  code: AudienceErrorCode;
  message: string;
  /** With rate_limited and muted: how long until the next message or reaction is accepted. */
  retryAfterMs?: number;
}

export type AudienceAck<T extends object> = ({ ok: true } & T) | { ok: false; error: AudienceError };

export interface JoinReply {
  history: ChatMessage[];
  reactions: ReactionCounts;
}

export function emptyReactionCounts(): ReactionCounts {
  return { like: 0, laugh: 0, wow: 0, clap: 0, heart: 0 };
}

/** A page's viewer id (`auth.viewerId` in the `/audience` handshake): random, kept in localStorage, what mutes and bans apply to. */
export const VIEWER_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** `/audience` → a stream's room: an operator removed this message; pages drop it from their list. */
export interface ChatRemoved {
  streamId: string;
  messageId: string;
}

/** `/audience` → the muted viewer's sockets: chat and reactions are refused (`muted`) until the time is up. */
export interface MutedNotice {
  streamId: string;
  retryAfterMs: number;
  reason?: string;
}

/** `/audience` → the banned viewer's sockets, just before the server disconnects them from the stream's chat. */
export interface BannedNotice {
  streamId: string;
  reason?: string;
}
