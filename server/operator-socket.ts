import type { Server as SocketServer, Socket } from 'socket.io';
import { z } from 'zod';
import { canOperate } from './auth/access.js';
import { principalOf } from './auth/socket-access.js';
import type { AudienceHub } from './audience/audience-hub.js';
import { ModerationError, type ChatModeration } from './audience/chat-moderation.js';
import { MODERATION_ACTIONS, type ModerationActor } from './audience/moderation-protocol.js';
import { PresetError, type PresetStore } from './storage/preset-store.js';
import { ChainControlError, applyPreset, changeChain, patchTransform } from './streams/chain-control.js';
import type { LiveStream } from './streams/live-stream.js';
import type { StreamRegistry } from './streams/stream-registry.js';

const joinMessage = z.object({ streamId: z.string().min(1).max(64) }).strict();
const setChainMessage = z.object({ streamId: z.string().min(1).max(64), spec: z.unknown() }).strict();
const patchMessage = z.object({ streamId: z.string().min(1).max(64), index: z.number().int(), patch: z.unknown() }).strict();
const savePresetMessage = z.object({ name: z.string().max(200), spec: z.unknown() }).strict();
const deletePresetMessage = z.object({ name: z.string().max(200) }).strict();
const applyPresetMessage = z.object({ streamId: z.string().min(1).max(64), name: z.string().max(200) }).strict();
const watchModerationMessage = z.object({ streamId: z.string().min(1).max(64) }).strict();

type Ack = (response: unknown) => void;

/** Something that raises operator alerts for a stream (the recorder: `disk_low`). */
export interface OperatorAlertSource {
  on(event: 'alert', listener: (alert: { streamId: string; code: string; message: string }) => void): unknown;
}
const ackOf = (candidate: unknown): Ack => (typeof candidate === 'function' ? (candidate as Ack) : () => {});

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
export function attachOperatorNamespace(io: SocketServer, registry: StreamRegistry, presets: PresetStore, alerts?: OperatorAlertSource, chat?: OperatorModeration): void {
  const operators = io.of('/operator');
  presets.on('changed', (list) => operators.emit('presets', { presets: list }));
  const room = (streamId: string): string => `operators:${streamId}`;
  // Recorder alerts (disk low, …) go to the consoles of the stream concerned.
  alerts?.on('alert', (alert) => operators.to(room(alert.streamId)).emit('alert', { ...alert, at: new Date().toISOString() }));
  const wire = (stream: LiveStream): void => {
    stream.on('chain', (chain, changedBy) => operators.to(room(stream.id)).emit('chain', { streamId: stream.id, chain, changedBy, at: new Date().toISOString() }));
  };
  for (const stream of registry.list()) wire(stream);
  registry.on('newstream', wire);
  const moderatorsRoom = (streamId: string): string => `moderators:${streamId}`;
  chat?.hub.on('chat', (message) => operators.to(moderatorsRoom(message.streamId)).emit('chat', message));
  chat?.hub.on('moderation', ({ at, ...record }) =>
    operators.to(moderatorsRoom(record.streamId)).emit('moderation', { ...record, at: new Date(at).toISOString(), ...chat.hub.moderationState(record.streamId) }),
  );

  operators.on('connection', (socket: Socket) => {
    const who = `operator socket ${socket.id} (${socket.handshake.address})`;
    const find = (streamId: string, ack: Ack): LiveStream | undefined => {
      const stream = registry.get(streamId);
      if (!stream) ack({ ok: false, error: { code: 'not_found', message: `no stream with id "${streamId}"` } });
      else if (!canOperate(principalOf(socket), stream.id)) {
        ack({ ok: false, error: { code: 'forbidden', message: `this operator token does not cover stream "${streamId}"` } });
        return undefined;
      }
      return stream;
    };
    const run = (work: Promise<unknown>, ack: Ack): void => {
      work.then(
        (chain) => ack({ ok: true, chain }),
        (error: unknown) => {
          if (error instanceof ChainControlError || error instanceof PresetError) ack({ ok: false, error: { code: error.code, message: error.message } });
          else ack({ ok: false, error: { code: 'internal_error', message: 'the change could not be applied' } });
        },
      );
    };

    socket.on('join', (message: unknown, ackCandidate: unknown) => {
      const ack = ackOf(ackCandidate);
      const parsed = joinMessage.safeParse(message);
      if (!parsed.success) return ack({ ok: false, error: { code: 'bad_request', message: 'join needs { streamId: string }' } });
      const stream = find(parsed.data.streamId, ack);
      if (!stream) return;
      void socket.join(room(stream.id));
      ack({ ok: true, chain: stream.chain });
    });
    socket.on('set-chain', (message: unknown, ackCandidate: unknown) => {
      const ack = ackOf(ackCandidate);
      const parsed = setChainMessage.safeParse(message);
      if (!parsed.success) return ack({ ok: false, error: { code: 'bad_request', message: 'set-chain needs { streamId: string, spec: { transforms: [...] } }' } });
      const stream = find(parsed.data.streamId, ack);
      if (stream) run(changeChain(stream, parsed.data.spec, who), ack);
    });
    socket.on('patch-transform', (message: unknown, ackCandidate: unknown) => {
      const ack = ackOf(ackCandidate);
      const parsed = patchMessage.safeParse(message);
      if (!parsed.success) return ack({ ok: false, error: { code: 'bad_request', message: 'patch-transform needs { streamId: string, index: integer, patch: { enabled?, params? } }' } });
      const stream = find(parsed.data.streamId, ack);
      if (stream) run(patchTransform(stream, parsed.data.index, parsed.data.patch, who), ack);
    });

    const answer = async (work: () => Promise<Record<string, unknown>>, ack: Ack): Promise<void> => {
      try {
        ack({ ok: true, ...(await work()) });
      } catch (error) {
        if (error instanceof PresetError) ack({ ok: false, error: { code: error.code, message: error.message } });
        else ack({ ok: false, error: { code: 'internal_error', message: 'the preset could not be changed' } });
      }
    };
    socket.on('list-presets', (_message: unknown, ackCandidate: unknown) => {
      // The ack may come as the only argument: `emit('list-presets', ack)`.
      const ack = ackOf(typeof _message === 'function' ? _message : ackCandidate);
      void answer(async () => ({ presets: await presets.list() }), ack);
    });
    socket.on('save-preset', (message: unknown, ackCandidate: unknown) => {
      const ack = ackOf(ackCandidate);
      const parsed = savePresetMessage.safeParse(message);
      if (!parsed.success) return ack({ ok: false, error: { code: 'bad_request', message: 'save-preset needs { name: string, spec: { transforms: [...] } }' } });
      void answer(() => presets.save(parsed.data.name, parsed.data.spec, who), ack);
    });
    socket.on('delete-preset', (message: unknown, ackCandidate: unknown) => {
      const ack = ackOf(ackCandidate);
      const parsed = deletePresetMessage.safeParse(message);
      if (!parsed.success) return ack({ ok: false, error: { code: 'bad_request', message: 'delete-preset needs { name: string }' } });
      void answer(async () => {
        await presets.delete(parsed.data.name, who);
        return { deleted: parsed.data.name };
      }, ack);
    });
    socket.on('watch-moderation', (message: unknown, ackCandidate: unknown) => {
      const ack = ackOf(ackCandidate);
      if (!chat) return ack({ ok: false, error: { code: 'internal_error', message: 'chat moderation is not available on this server' } });
      const parsed = watchModerationMessage.safeParse(message);
      if (!parsed.success) return ack({ ok: false, error: { code: 'bad_request', message: 'watch-moderation needs { streamId: string }' } });
      const stream = find(parsed.data.streamId, ack);
      if (!stream) return;
      void socket.join(moderatorsRoom(stream.id));
      ack({ ok: true, ...chat.moderation.view(stream.id) });
    });
    for (const action of MODERATION_ACTIONS) {
      socket.on(action, (message: unknown, ackCandidate: unknown) => {
        const ack = ackOf(ackCandidate);
        if (!chat) return ack({ ok: false, error: { code: 'internal_error', message: 'chat moderation is not available on this server' } });
        // A stream operator moderates its own stream only (a malformed message is apply()'s bad_request).
        const streamId = (message as { streamId?: unknown } | null)?.streamId;
        if (typeof streamId === 'string' && registry.get(streamId) && !canOperate(principalOf(socket), streamId)) {
          return ack({ ok: false, error: { code: 'forbidden', message: `this operator token does not cover stream "${streamId}"` } });
        }
        try {
          ack({ ok: true, ...chat.moderation.apply(action, message, socketActor(socket.data ?? {})) });
        } catch (error) {
          // Malformed messages are `bad_request` on this namespace, as for the other events.
          if (error instanceof ModerationError) ack({ ok: false, error: { code: error.code === 'invalid_request' ? 'bad_request' : error.code, message: error.message } });
          else ack({ ok: false, error: { code: 'internal_error', message: `${action} could not be applied` } });
        }
      });
    }
    socket.on('apply-preset', (message: unknown, ackCandidate: unknown) => {
      const ack = ackOf(ackCandidate);
      const parsed = applyPresetMessage.safeParse(message);
      if (!parsed.success) return ack({ ok: false, error: { code: 'bad_request', message: 'apply-preset needs { streamId: string, name: string }' } });
      const stream = find(parsed.data.streamId, ack);
      if (stream) run(applyPreset(stream, presets, parsed.data.name, who), ack);
    });
  });
}
