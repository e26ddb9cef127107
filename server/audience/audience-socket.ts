import { randomBytes } from 'node:crypto';
import type { Server as SocketServer, Socket } from 'socket.io';
import { z } from 'zod';
import type { StreamRegistry } from '../streams/stream-registry.js';
import type { AudienceHub } from './audience-hub.js';
import { canView } from '../auth/access.js';
import { principalOf } from '../auth/socket-access.js';
import type { LivefxConfig } from '../../core/config.js';
import { LivefxError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { onEvent, type EventAnswer } from '../socket-errors.js';
import {
  CHAT_NAME_MAX_CHARS,
  CHAT_TEXT_MAX_CHARS,
  REACTION_KINDS,
  VIEWER_ID_PATTERN,
  type BannedNotice,
  type ChatRemoved,
  type MutedNotice,
} from './audience-protocol.js';
import type { ViewerBan, ViewerMute } from './moderation-protocol.js';
import { RateLimiter } from './rate-limiter.js';
import type { ChatRateLimiter } from './redis-rate-limiter.js';
import type { TokenBucketRate } from './token-bucket.js';
import type { RemoteStreams } from '../cluster/owner-requests.js';

export type AudienceLimits = Pick<LivefxConfig, 'LIVEFX_CHAT_MAX_CHARS' | 'LIVEFX_CHAT_BURST' | 'LIVEFX_CHAT_PER_MIN' | 'LIVEFX_REACTIONS_PER_S'>;

/** With LIVEFX_REDIS_URL: streams other nodes own, and rate limits that hold across nodes. */
export interface AudienceCluster {
  remote: RemoteStreams;
  rateLimiter(kind: 'chat' | 'react', rate: TokenBucketRate): ChatRateLimiter;
}

/**
 * Chat: a burst of 3, then one message every 2 s (30 a minute sustained): lively, but no wall of
 * spam. Reactions: 10 a second, enough for frantic clicking, not for a script.
 */
const DEFAULT_LIMITS: AudienceLimits = { LIVEFX_CHAT_MAX_CHARS: CHAT_TEXT_MAX_CHARS, LIVEFX_CHAT_BURST: 3, LIVEFX_CHAT_PER_MIN: 30, LIVEFX_REACTIONS_PER_S: 10 };

/** Control characters, and bidi overrides and isolates (which let a name or message disguise what it shows). */
const UNPRINTABLE = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

const streamIdField = z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(64, { error: 'must be at most 64 characters' });
const nameField = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(CHAT_NAME_MAX_CHARS, { error: `must be at most ${CHAT_NAME_MAX_CHARS} characters` })
  .refine((name) => !UNPRINTABLE.test(name), { error: 'must not contain control characters' });
const joinMessage = z.object({ streamId: streamIdField, name: nameField }, { error: 'expected an object { streamId, name }' });
const watchMessage = z.object({ streamId: streamIdField }, { error: 'expected an object { streamId }' });
const chatMessage = z.object(
  {
    streamId: streamIdField,
    text: z
      .string({ error: 'must be a string' })
      .trim()
      .min(1, { error: 'must not be empty' })
      .refine((text) => !UNPRINTABLE.test(text), { error: 'must not contain control characters' }),
  },
  { error: 'expected an object { streamId, text }' },
);
const reactMessage = z.object(
  { streamId: streamIdField, kind: z.enum(REACTION_KINDS, { error: `must be one of ${REACTION_KINDS.join(', ')}` }) },
  { error: 'expected an object { streamId, kind }' },
);

/** Admins and operators (roles set by access control in the handshake) are never muted or banned. */
const isPrivileged = (socket: Socket): boolean => socket.data.role === 'admin' || socket.data.role === 'operator';

/** The message in the event's shape, else `invalid_request` naming the field: "join: name: must not be empty" (the whole message is called "message"). */
function parse<T>(schema: z.ZodType<T>, event: string, message: unknown): T {
  const parsed = schema.safeParse(message);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'message';
  throw new LivefxError('invalid_request', `${event}: ${field}: ${issue?.message ?? 'invalid'}`);
}

const bannedMessage = (ban: ViewerBan): string => `you were removed from this chat by an operator${ban.reason ? ` (${ban.reason})` : ''}`;
const mutedMessage = (mute: ViewerMute, nowMs: number): string =>
  `you are muted by an operator for another ${Math.max(1, Math.ceil((mute.until - nowMs) / 1000))} s${mute.reason ? ` (${mute.reason})` : ''}`;

/**
 * socket.io namespace `/audience`: viewers join a stream's chat with a display name, chat and
 * react; publish and operator pages follow read-only (`watch-chat`). Every accepted message and
 * the aggregated reactions are broadcast to the stream's room; the AudienceHub stores and emits them.
 * Each socket carries a viewer id (`auth.viewerId` in the handshake, else one made up for the
 * connection) that operators mute and ban; moderation from the hub is enforced here.
 */
export function attachAudienceNamespace(io: SocketServer, registry: StreamRegistry, hub: AudienceHub, limits: AudienceLimits = DEFAULT_LIMITS, log?: Logger, cluster?: AudienceCluster): void {
  const audience = io.of('/audience');
  const room = (streamId: string): string => `audience:${streamId}`;
  // Every node's hub hears every message (the audience bus) and tells its own sockets only: never through the adapter.
  const toRoom = (streamId: string) => audience.local.to(room(streamId));
  const chatRate = { capacity: limits.LIVEFX_CHAT_BURST, refillPerSecond: limits.LIVEFX_CHAT_PER_MIN / 60 };
  const reactionRate = { capacity: limits.LIVEFX_REACTIONS_PER_S, refillPerSecond: limits.LIVEFX_REACTIONS_PER_S };
  const chatLimit: ChatRateLimiter = cluster ? cluster.rateLimiter('chat', chatRate) : new RateLimiter(chatRate);
  const reactionLimit: ChatRateLimiter = cluster ? cluster.rateLimiter('react', reactionRate) : new RateLimiter(reactionRate);
  const maxChars = limits.LIVEFX_CHAT_MAX_CHARS;
  hub.on('chat', ({ streamId, id, user, text, at }) => toRoom(streamId).emit('chat', { streamId, id, user, text, at }));
  hub.on('reactions', (update) => toRoom(update.streamId).emit('reactions', update));
  /** Sockets by viewer id: one viewer may have several pages open. */
  const socketsOf = new Map<string, Set<Socket>>();
  const inStream = (viewerId: string | undefined, streamId: string): Socket[] =>
    viewerId === undefined ? [] : [...(socketsOf.get(viewerId) ?? [])].filter((socket) => socket.rooms.has(room(streamId)));
  /** Stream id → display name, per socket joined with a name (here so that a ban can take the name back). */
  const namesOf = new WeakMap<Socket, Map<string, string>>();
  hub.on('moderation', ({ streamId, action, viewerId, messageId, seconds, reason }) => {
    if (action === 'remove-chat' && messageId) {
      const removed: ChatRemoved = { streamId, messageId };
      toRoom(streamId).emit('chat-removed', removed);
    } else if (action === 'mute-viewer' && seconds !== undefined) {
      const notice: MutedNotice = { streamId, retryAfterMs: seconds * 1000, ...(reason ? { reason } : {}) };
      for (const socket of inStream(viewerId, streamId)) socket.emit('muted', notice);
    } else if (action === 'unmute-viewer') {
      for (const socket of inStream(viewerId, streamId)) socket.emit('unmuted', { streamId });
    } else if (action === 'ban-viewer') {
      const notice: BannedNotice = { streamId, ...(reason ? { reason } : {}) };
      for (const socket of inStream(viewerId, streamId)) {
        if (isPrivileged(socket)) continue;
        socket.emit('banned', notice);
        namesOf.get(socket)?.delete(streamId);
        void socket.leave(room(streamId));
        // A page follows one stream: off it goes (socket.io does not reconnect after a server disconnect).
        if (![...socket.rooms].some((name) => name.startsWith('audience:'))) socket.disconnect();
      }
    }
  });

  // The viewer id comes with the handshake; a malformed one is refused with a clear connect_error.
  audience.use((socket, next) => {
    const offered = (socket.handshake.auth as { viewerId?: unknown } | undefined)?.viewerId;
    if (offered !== undefined && (typeof offered !== 'string' || !VIEWER_ID_PATTERN.test(offered))) {
      const error = new Error('invalid_request: auth.viewerId must be 16 to 64 letters, digits, "-" or "_"') as Error & { data?: unknown };
      error.data = { code: 'invalid_request' };
      return next(error);
    }
    socket.data.viewerId = typeof offered === 'string' ? offered : randomBytes(12).toString('base64url');
    next();
  });

  audience.on('connection', (socket: Socket) => {
    /** streamId → display name, for the streams this socket has joined with a name. */
    const names = new Map<string, string>();
    namesOf.set(socket, names);
    const viewerId = socket.data.viewerId as string;
    const address = socket.handshake.address;
    let viewerSockets = socketsOf.get(viewerId);
    if (!viewerSockets) socketsOf.set(viewerId, (viewerSockets = new Set()));
    viewerSockets.add(socket);
    socket.on('disconnect', () => {
      viewerSockets.delete(socket);
      if (viewerSockets.size === 0 && socketsOf.get(viewerId) === viewerSockets) socketsOf.delete(viewerId);
    });
    const privileged = isPrivileged(socket);
    const on = (event: string, handler: (message: unknown) => EventAnswer | Promise<EventAnswer>): void => onEvent(socket, event, handler, log);
    /** Refuses (`banned`) when a ban keeps this socket out of the stream's chat. */
    const assertNotBanned = (streamId: string): void => {
      const ban = privileged ? undefined : hub.banOf(streamId, viewerId, address);
      if (ban) throw new LivefxError('banned', bannedMessage(ban));
    };
    /** Refuses (`muted`, with retryAfterMs) while a mute holds this viewer's messages and reactions back. */
    const assertNotMuted = (streamId: string): void => {
      const mute = privileged ? undefined : hub.muteOf(streamId, viewerId, address);
      if (!mute) return;
      const nowMs = Date.now();
      throw new LivefxError('muted', mutedMessage(mute, nowMs), { details: { retryAfterMs: Math.max(0, mute.until - nowMs) } });
    };
    /** Per socket, and per name + address so that reconnecting does not reset the limit. */
    const limitKeys = (name: string): string[] => [`socket:${socket.id}`, `viewer:${socket.handshake.address}:${name.toLowerCase()}`];

    /** Refuses (not_found, stream_ended, forbidden) unless the stream exists (here or on another node), has not ended and this socket may watch it. */
    const assertOpenStream = async (streamId: string): Promise<void> => {
      const stream = registry.get(streamId) ?? (await cluster?.remote.find(streamId));
      if (!stream) throw new LivefxError('not_found', `no stream with id "${streamId}"`);
      if ('state' in stream && stream.state === 'ended') throw new LivefxError('stream_ended', `stream "${streamId}" has ended`);
      if (!canView(principalOf(socket), stream)) throw new LivefxError('forbidden', `stream "${streamId}" is private: its chat needs the viewer link's token`);
    };
    const enterRoom = (streamId: string, name?: string): EventAnswer => {
      hub.seeViewer(streamId, viewerId, address, name);
      void socket.join(room(streamId));
      return { history: hub.history(streamId), reactions: hub.reactionTotals(streamId), maxTextChars: maxChars };
    };
    /** The display name this socket joined the stream with; `not_joined` without one. */
    const nameIn = (streamId: string, event: string): string => {
      const name = names.get(streamId);
      if (name === undefined) throw new LivefxError('not_joined', `${event}: join stream "${streamId}" with a display name first`);
      return name;
    };
    const assertUnderLimit = (waitMs: number, what: string): void => {
      if (waitMs > 0) throw new LivefxError('rate_limited', `slow down: ${what} again in ${(waitMs / 1000).toFixed(1)} s`, { details: { retryAfterMs: waitMs } });
    };

    on('join', async (message) => {
      const { streamId, name } = parse(joinMessage, 'join', message);
      await assertOpenStream(streamId);
      assertNotBanned(streamId);
      names.set(streamId, name);
      return enterRoom(streamId, name);
    });
    on('watch-chat', async (message) => {
      const { streamId } = parse(watchMessage, 'watch-chat', message);
      await assertOpenStream(streamId);
      assertNotBanned(streamId);
      return enterRoom(streamId);
    });
    on('chat', async (message) => {
      const { streamId, text } = parse(chatMessage, 'chat', message);
      if (text.length > maxChars) throw new LivefxError('message_too_long', `chat: text is ${text.length} characters; at most ${maxChars} are allowed`);
      await assertOpenStream(streamId);
      assertNotBanned(streamId);
      const name = nameIn(streamId, 'chat');
      assertNotMuted(streamId);
      assertUnderLimit(await chatLimit.attempt(limitKeys(name)), 'you can send a message');
      return { message: hub.postChat(streamId, name, text, viewerId) };
    });
    on('react', async (message) => {
      const { streamId, kind } = parse(reactMessage, 'react', message);
      await assertOpenStream(streamId);
      assertNotBanned(streamId);
      const name = nameIn(streamId, 'react');
      assertNotMuted(streamId);
      assertUnderLimit(await reactionLimit.attempt(limitKeys(name)), 'you can react');
      hub.react(streamId, name, kind);
    });
  });
}
