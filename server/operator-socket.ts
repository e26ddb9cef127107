import type { Server as SocketServer, Socket } from 'socket.io';
import { z } from 'zod';
import { LivefxError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { canOperate } from './auth/access.js';
import { principalOf } from './auth/socket-access.js';
import type { AudienceHub } from './audience/audience-hub.js';
import type { ChatModeration } from './audience/chat-moderation.js';
import { MODERATION_ACTIONS, type ModerationActor } from './audience/moderation-protocol.js';
import type { PresetStore } from './storage/preset-store.js';
import { applyPreset, changeChain, patchTransform } from './streams/chain-control.js';
import type { LiveStream } from './streams/live-stream.js';
import type { StreamRegistry } from './streams/stream-registry.js';
import { onEvent, type EventAnswer } from './socket-errors.js';
import { actorOf, type ForwardedActor, type OwnerRequest, type RemoteStreams } from './cluster/owner-requests.js';
import type { ChainSpec } from '../transforms/chain-spec.js';

const joinMessage = z.object({ streamId: z.string().min(1).max(64) }).strict();
const setChainMessage = z.object({ streamId: z.string().min(1).max(64), spec: z.unknown() }).strict();
const patchMessage = z.object({ streamId: z.string().min(1).max(64), index: z.number().int(), patch: z.unknown() }).strict();
const savePresetMessage = z.object({ name: z.string().max(200), spec: z.unknown() }).strict();
const deletePresetMessage = z.object({ name: z.string().max(200) }).strict();
const applyPresetMessage = z.object({ streamId: z.string().min(1).max(64), name: z.string().max(200) }).strict();
const watchModerationMessage = z.object({ streamId: z.string().min(1).max(64) }).strict();

/** Something that raises operator alerts for a stream (the recorder: `disk_low`; streams raise `stream_overloaded` themselves). */
export interface OperatorAlertSource {
  on(event: 'alert', listener: (alert: { streamId: string; code: string; message: string }) => void): unknown;
}

/** Chat moderation for the consoles: the hub's events and the actions on it. */
export interface OperatorModeration {
  hub: AudienceHub;
  moderation: ChatModeration;
}

/** Who is acting: the role and token id access control put on the socket, else plain "operator". */
export function socketActor(data: { role?: unknown; tokenId?: unknown }): ModerationActor {
  return { by: typeof data.role === 'string' ? data.role : 'operator', ...(typeof data.tokenId === 'string' ? { tokenId: data.tokenId } : {}), via: 'socket' };
}

/**
 * socket.io namespace `/operator`: live transform control. A console joins a stream, changes its
 * chain (acks carry `{ ok: false, error: { code, message } }` when refused), and every change —
 * from any console or from the HTTP API — is broadcast to all consoles of that stream as `chain`.
 * Presets are shared by all streams: any change is broadcast to every console as `presets`.
 * Recorder alerts (`alert { streamId, code: "disk_low", message, at }`) go to the stream's consoles.
 * Moderation: `watch-moderation` follows a stream's chat with authors' viewer ids (`chat`) and every
 * action (`moderation`, with the bans and mutes after it); `remove-chat`, `mute-viewer`,
 * `unmute-viewer`, `ban-viewer`, `unban-viewer` act on it.
 */
export function attachOperatorNamespace(
  io: SocketServer,
  registry: StreamRegistry,
  presets: PresetStore,
  alerts?: OperatorAlertSource,
  chat?: OperatorModeration,
  log?: Logger,
  remote?: RemoteStreams,
): void {
  const operators = io.of('/operator');
  presets.on('changed', (list) => operators.emit('presets', { presets: list }));
  const room = (streamId: string): string => `operators:${streamId}`;
  // Recorder alerts (disk low, …) go to the consoles of the stream concerned.
  alerts?.on('alert', (alert) => operators.to(room(alert.streamId)).emit('alert', { ...alert, at: new Date().toISOString() }));
  const wire = (stream: LiveStream): void => {
    stream.on('chain', (chain, changedBy) => operators.to(room(stream.id)).emit('chain', { streamId: stream.id, chain, changedBy, at: new Date().toISOString() }));
    // The stream's own alerts (stream_overloaded) go the way the recorder's do.
    stream.on('alert', (code, message) => operators.to(room(stream.id)).emit('alert', { streamId: stream.id, code, message, at: new Date().toISOString() }));
  };
  for (const stream of registry.list()) wire(stream);
  registry.on('newstream', wire);
  const moderatorsRoom = (streamId: string): string => `moderators:${streamId}`;
  // Every node's hub hears every chat message and action (the audience bus): each tells its own consoles only.
  chat?.hub.on('chat', (message) => operators.local.to(moderatorsRoom(message.streamId)).emit('chat', message));
  chat?.hub.on('moderation', ({ at, ...record }) =>
    operators.local.to(moderatorsRoom(record.streamId)).emit('moderation', { ...record, at: new Date(at).toISOString(), ...chat.hub.moderationState(record.streamId) }),
  );

  operators.on('connection', (socket: Socket) => {
    const who = `operator socket ${socket.id} (${socket.handshake.address})`;
    const on = (event: string, handler: (message: unknown) => EventAnswer | Promise<EventAnswer>): void => onEvent(socket, event, handler, log);
    /** The message in the event's shape, else `bad_request` (this namespace's code for a malformed message, as documented before the error model). */
    const parse = <T>(schema: z.ZodType<T>, message: unknown, shape: string): T => {
      const parsed = schema.safeParse(message);
      if (!parsed.success) throw new LivefxError('bad_request', shape);
      return parsed.data;
    };
    const find = (streamId: string): LiveStream => {
      const stream = registry.get(streamId);
      if (!stream) throw new LivefxError('not_found', `no stream with id "${streamId}"`);
      if (!canOperate(principalOf(socket), stream.id)) throw new LivefxError('forbidden', `this operator token does not cover stream "${streamId}"`);
      return stream;
    };
    /** The stream here, or (with LIVEFX_REDIS_URL) a request passed on to the node that owns it; checked here first. */
    const onOwner = async <T>(streamId: string, here: (stream: LiveStream) => T | Promise<T>, there: (actor: ForwardedActor) => Omit<OwnerRequest, 'actor'>): Promise<T | unknown> => {
      if (registry.get(streamId) || !remote || !(await remote.find(streamId))) return here(find(streamId));
      const principal = principalOf(socket);
      if (!canOperate(principal, streamId)) throw new LivefxError('forbidden', `this operator token does not cover stream "${streamId}"`);
      const actor = actorOf(principal, `${who} via node ${remote.nodeId}`);
      return remote.forward(streamId, { ...there(actor), actor });
    };
    const transformsPath = (streamId: string): string => `/v1/streams/${encodeURIComponent(streamId)}/transforms`;
    const moderationOf = (): OperatorModeration => {
      if (!chat) throw new LivefxError('internal_error', 'chat moderation is not available on this server');
      return chat;
    };

    on('join', async (message) => {
      const { streamId } = parse(joinMessage, message, 'join needs { streamId: string }');
      const chain = await onOwner(streamId, (stream) => stream.chain, () => ({ method: 'GET', path: transformsPath(streamId) }));
      // Another node's stream: its `chain` emits reach this room through the socket.io adapter.
      void socket.join(room(streamId));
      return { chain };
    });
    on('set-chain', async (message) => {
      const { streamId, spec } = parse(setChainMessage, message, 'set-chain needs { streamId: string, spec: { transforms: [...] } }');
      return { chain: await onOwner(streamId, (stream) => changeChain(stream, spec, who), () => ({ method: 'PUT', path: transformsPath(streamId), body: spec })) };
    });
    on('patch-transform', async (message) => {
      const { streamId, index, patch } = parse(patchMessage, message, 'patch-transform needs { streamId: string, index: integer, patch: { enabled?, params? } }');
      return { chain: await onOwner(streamId, (stream) => patchTransform(stream, index, patch, who), () => ({ method: 'PATCH', path: `${transformsPath(streamId)}/${index}`, body: patch ?? {} })) };
    });
    on('list-presets', async () => ({ presets: await presets.list() }));
    on('save-preset', async (message) => {
      const { name, spec } = parse(savePresetMessage, message, 'save-preset needs { name: string, spec: { transforms: [...] } }');
      return { ...(await presets.save(name, spec, who)) };
    });
    on('delete-preset', async (message) => {
      const { name } = parse(deletePresetMessage, message, 'delete-preset needs { name: string }');
      await presets.delete(name, who);
      return { deleted: name };
    });
    on('apply-preset', async (message) => {
      const { streamId, name } = parse(applyPresetMessage, message, 'apply-preset needs { streamId: string, name: string }');
      // Passed on as the preset's chain (read here): the owner applies it like any chain change.
      const presetChain = async (): Promise<ChainSpec> => {
        const preset = await presets.get(name);
        if (!preset) throw new LivefxError('preset_not_found', `no preset named "${name}"`);
        return preset.spec as ChainSpec;
      };
      const spec = registry.get(streamId) ? undefined : await presetChain();
      return { chain: await onOwner(streamId, (stream) => applyPreset(stream, presets, name, who), () => ({ method: 'PUT', path: transformsPath(streamId), body: spec })) };
    });
    on('watch-moderation', async (message) => {
      const { moderation } = moderationOf();
      const { streamId } = parse(watchModerationMessage, message, 'watch-moderation needs { streamId: string }');
      const view = await onOwner(streamId, (stream) => moderation.view(stream.id), () => ({ method: 'GET', path: `/v1/streams/${encodeURIComponent(streamId)}/moderation` }));
      void socket.join(moderatorsRoom(streamId));
      return { ...(view as object) };
    });
    for (const action of MODERATION_ACTIONS) {
      on(action, async (message) => {
        const { moderation } = moderationOf();
        // A stream operator moderates its own stream only (apply() checks the message itself).
        const streamId = (message as { streamId?: unknown } | null)?.streamId;
        if (typeof streamId === 'string' && registry.get(streamId) && !canOperate(principalOf(socket), streamId)) {
          throw new LivefxError('forbidden', `this operator token does not cover stream "${streamId}"`);
        }
        try {
          if (typeof streamId !== 'string' || registry.get(streamId) || !remote || !(await remote.find(streamId))) {
            return { ...moderation.apply(action, message, socketActor(socket.data ?? {})) };
          }
          const { streamId: _streamId, ...body } = message as Record<string, unknown>;
          const answer = await onOwner(streamId, () => undefined, () => ({ method: 'POST', path: `/v1/streams/${encodeURIComponent(streamId)}/moderation/${action}`, body }));
          // The HTTP answer adds the bans and mutes in force; the socket's ack is the action's own fields.
          const { bans: _bans, mutes: _mutes, ...fields } = answer as Record<string, unknown>;
          return fields;
        } catch (error) {
          // apply() (and the owner's HTTP route) say invalid_request for a malformed message; on this namespace that is bad_request (documented).
          if (error instanceof LivefxError && error.code === 'invalid_request') throw new LivefxError('bad_request', error.message);
          throw error;
        }
      });
    }
  });
}
