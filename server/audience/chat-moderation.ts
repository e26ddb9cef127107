import { z } from 'zod';
import { LivefxError } from '../../core/errors.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import type { AudienceHub } from './audience-hub.js';
import { VIEWER_ID_PATTERN } from './audience-protocol.js';
import { MODERATION_REASON_MAX_CHARS, MUTE_MAX_SECONDS, type ModeratedChatMessage, type ModerationAction, type ModerationActor, type ModerationState } from './moderation-protocol.js';

/** Why a moderation action was refused: a stable code, the HTTP status it maps to, and a message naming the problem. */
export class ModerationError extends LivefxError {
  override name = 'ModerationError';
  declare readonly code: 'invalid_request' | 'not_found' | 'stream_ended' | 'message_not_found' | 'viewer_not_found' | 'not_muted' | 'not_banned';
  constructor(code: ModerationError['code'], httpStatus: number, message: string) {
    super(code, message, { httpStatus });
  }
}

/** Control characters, and bidi overrides and isolates (as for chat text). */
const UNPRINTABLE = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

const streamId = z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(64, { error: 'must be at most 64 characters' });
const viewerId = z.string({ error: 'must be a string' }).regex(VIEWER_ID_PATTERN, { error: 'must be a viewer id (16 to 64 letters, digits, "-" or "_")' });
const reason = z
  .string({ error: 'must be a string' })
  .trim()
  .max(MODERATION_REASON_MAX_CHARS, { error: `must be at most ${MODERATION_REASON_MAX_CHARS} characters` })
  .refine((text) => !UNPRINTABLE.test(text), { error: 'must not contain control characters' })
  .optional();

const schemas = {
  'remove-chat': z.object({ streamId, messageId: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(64, { error: 'must be at most 64 characters' }), reason }).strict(),
  'mute-viewer': z
    .object({
      streamId,
      viewerId,
      seconds: z.number({ error: 'must be a number of seconds' }).int({ error: 'must be a whole number of seconds' }).min(1, { error: 'must be at least 1' }).max(MUTE_MAX_SECONDS, { error: `must be at most ${MUTE_MAX_SECONDS} (a day)` }),
      reason,
    })
    .strict(),
  'unmute-viewer': z.object({ streamId, viewerId }).strict(),
  'ban-viewer': z.object({ streamId, viewerId, reason }).strict(),
  'unban-viewer': z.object({ streamId, viewerId }).strict(),
} satisfies Record<ModerationAction, z.ZodType>;

/** What each action needs, for error messages: "mute-viewer needs { streamId, viewerId, seconds, reason? }". */
const SHAPES: Record<ModerationAction, string> = {
  'remove-chat': '{ streamId, messageId, reason? }',
  'mute-viewer': '{ streamId, viewerId, seconds, reason? }',
  'unmute-viewer': '{ streamId, viewerId }',
  'ban-viewer': '{ streamId, viewerId, reason? }',
  'unban-viewer': '{ streamId, viewerId }',
};

/**
 * Operator moderation of a stream's chat, shared by the `/operator` namespace and the HTTP API:
 * validates the request, checks the stream and target, and applies it on the AudienceHub, whose
 * `moderation` event makes the `/audience` namespace enforce it and the recorder log it.
 */
export class ChatModeration {
  constructor(
    private readonly registry: StreamRegistry,
    private readonly hub: AudienceHub,
  ) {}

  /** Runs one action; returns the fields of the success answer, throws ModerationError when refused. */
  apply(action: ModerationAction, input: unknown, actor: ModerationActor): Record<string, unknown> {
    const parsed = schemas[action].safeParse(input ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      throw new ModerationError('invalid_request', 400, `${action} needs ${SHAPES[action]}: ${field}${issue?.message ?? 'invalid'}`);
    }
    const request = parsed.data as { streamId: string; messageId?: string; viewerId?: string; seconds?: number; reason?: string };
    const id = request.streamId;
    this.openStream(id);
    const reasonText = request.reason || undefined;
    switch (action) {
      case 'remove-chat': {
        const removed = this.hub.removeChat(id, request.messageId!, actor, reasonText);
        if (!removed) throw new ModerationError('message_not_found', 404, `no recent chat message with id "${request.messageId!}" in stream "${id}" (the last 500 messages can be removed)`);
        return { messageId: removed.message.id, alreadyRemoved: removed.alreadyRemoved };
      }
      case 'mute-viewer':
        return { mute: this.hub.mute(id, this.knownViewer(id, request.viewerId!), request.seconds!, actor, reasonText) };
      case 'unmute-viewer':
        if (!this.hub.unmute(id, request.viewerId!, actor)) throw new ModerationError('not_muted', 404, `viewer "${request.viewerId!}" is not muted in stream "${id}"`);
        return {};
      case 'ban-viewer':
        return { ban: this.hub.ban(id, this.knownViewer(id, request.viewerId!), actor, reasonText) };
      case 'unban-viewer':
        if (!this.hub.unban(id, request.viewerId!, actor)) throw new ModerationError('not_banned', 404, `viewer "${request.viewerId!}" is not banned from stream "${id}"`);
        return {};
    }
  }

  /** The recent chat with authors' viewer ids, and the bans and mutes in force. */
  view(streamId: string): ModerationState & { chat: ModeratedChatMessage[] } {
    return { chat: this.hub.moderatedHistory(streamId), ...this.hub.moderationState(streamId) };
  }

  /** The bans and mutes in force. */
  state(streamId: string): ModerationState {
    return this.hub.moderationState(streamId);
  }

  private openStream(streamId: string): void {
    const stream = this.registry.get(streamId);
    if (!stream) throw new ModerationError('not_found', 404, `no stream with id "${streamId}"`);
    if (stream.state === 'ended') throw new ModerationError('stream_ended', 409, `stream "${streamId}" has ended`);
  }

  private knownViewer(streamId: string, viewerId: string): string {
    if (!this.hub.knowsViewer(streamId, viewerId)) throw new ModerationError('viewer_not_found', 404, `no viewer "${viewerId}" has joined the chat of stream "${streamId}"`);
    return viewerId;
  }
}
