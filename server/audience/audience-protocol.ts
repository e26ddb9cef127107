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

export type AudienceErrorCode = 'invalid_request' | 'not_found' | 'stream_ended' | 'not_joined' | 'rate_limited' | 'message_too_long' | 'forbidden' | 'internal_error';

export interface AudienceError {
  code: AudienceErrorCode;
  message: string;
  /** With rate_limited: how long until the next message or reaction is accepted. */
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
