// The moderation wire format of `/operator` (and the HTTP API), shared by the server and the operator page.
import type { ChatMessage } from './audience-protocol.js';

export const MODERATION_ACTIONS = ['remove-chat', 'mute-viewer', 'unmute-viewer', 'ban-viewer', 'unban-viewer'] as const;
export type ModerationAction = (typeof MODERATION_ACTIONS)[number];

/** Longest mute: a day (mutes, like bans, last as long as the stream at most). */
export const MUTE_MAX_SECONDS = 86_400;
export const MODERATION_REASON_MAX_CHARS = 200;

/** A chat message as operators see it: with the viewer id of its author, which viewers never see. */
export interface ModeratedChatMessage extends ChatMessage {
  viewerId: string;
}

export interface ViewerBan {
  viewerId: string;
  /** The display name the viewer last joined with, when known. */
  user?: string;
  reason?: string;
  by: string;
  /** Epoch ms. */
  at: number;
}

export interface ViewerMute {
  viewerId: string;
  user?: string;
  reason?: string;
  by: string;
  at: number;
  /** Epoch ms when chat is accepted again. */
  until: number;
}

export interface ModerationState {
  bans: ViewerBan[];
  mutes: ViewerMute[];
}

/** Who took an action: the socket's or request's role and token id when access control set them, else "operator". */
export interface ModerationActor {
  by: string;
  tokenId?: string;
  via: 'socket' | 'http';
}

/** One operator action, as the recorder logs it (type `moderation`) and consoles receive it. */
export interface ModerationRecord extends ModerationActor {
  action: ModerationAction;
  messageId?: string;
  viewerId?: string;
  /** The target's display name (the message's author, or the viewer's last name). */
  user?: string;
  seconds?: number;
  reason?: string;
}
