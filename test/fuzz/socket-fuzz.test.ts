import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/livefx-process.js';
import { ADMIN_TOKEN, FuzzSession, createStream, describeInput } from './fuzz-harness.js';
import { validChainSpec } from './fuzz-fixtures.js';
import { FUZZ_COUNT, runBounded, type FuzzInput } from './fuzz-input.js';

// Every socket.io event of /operator, /audience and /live gets malformed payloads, extra or missing
// arguments, missing acks, and junk event names; every ack must carry `ok` or an error code.

let session: FuzzSession;
let idle: string;

beforeAll(async () => {
  session = await FuzzSession.start('socket');
  idle = (await createStream(session.server, 'fuzz idle')).id;
}, 120_000);

afterAll(async () => {
  await session?.close();
});

/** The events of each namespace, with a valid payload to mutate. */
function namespaces(): Record<string, Record<string, () => unknown>> {
  return {
    '/operator': {
      join: () => ({ streamId: idle }),
      'set-chain': () => ({ streamId: idle, spec: validChainSpec() }),
      'patch-transform': () => ({ streamId: idle, index: 0, patch: { enabled: false, params: { brightness: 0.2 } } }),
      'list-presets': () => undefined,
      'save-preset': () => ({ name: 'fuzz socket', spec: validChainSpec() }),
      'delete-preset': () => ({ name: 'fuzz socket' }),
      'apply-preset': () => ({ streamId: idle, name: 'fuzz socket' }),
    },
    '/audience': {
      join: () => ({ streamId: idle, name: 'fuzzer' }),
      'watch-chat': () => ({ streamId: idle }),
      chat: () => ({ streamId: idle, text: 'hello there' }),
      react: () => ({ streamId: idle, kind: 'like' }),
    },
    '/live': {
      subscribe: () => ({ streamId: session.background!.id }),
      watching: () => ({ streamId: idle, mode: 'hls' }),
      time: () => undefined,
    },
  };
}

const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener', 'error', 'message']);
const JUNK_EVENTS = ['', ' ', 'JOIN', 'join ', 'set_chain', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x'.repeat(500), '😀', 'chat\u0000', '../join', 'ping', 'pong'];

/** Why an ack is not an answer a client can act on. */
function ackProblem(event: string, response: unknown): string | undefined {
  if (event === 'time') return typeof (response as { now?: unknown })?.now === 'number' ? undefined : 'time ack without { now }';
  const ack = response as { ok?: unknown; error?: { code?: unknown; message?: unknown } } | null;
  if (ack?.ok === true) return undefined;
  if (ack?.ok === false && typeof ack.error?.code === 'string' && ack.error.code !== '' && typeof ack.error.message === 'string' && ack.error.message !== '') return undefined;
  return `ack is neither { ok: true } nor { ok: false, error: { code, message } }: ${JSON.stringify(response)?.slice(0, 200)}`;
}

function connect(namespace: string): Socket {
  return io(`${session.url}${namespace}`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500 });
}

function payloadFor(input: FuzzInput, valid: unknown): unknown {
  const roll = input.int(0, 9);
  if (roll <= 5) return input.mutateValue(valid);
  if (roll <= 7) return input.value(4);
  if (roll === 8) return valid;
  return JSON.parse(input.deepNest(input.pick([50, 500])));
}

describe('socket.io fuzz', () => {
  it(`answers ${FUZZ_COUNT} malformed events on each of /operator, /audience and /live with an ok or an error code`, async () => {
    const spaces = namespaces();
    const names = Object.keys(spaces);
    const pools = new Map(names.map((namespace) => [namespace, Array.from({ length: 3 }, () => connect(namespace))]));
    for (const sockets of pools.values()) for (const socket of sockets) await waitFor('socket connected', () => socket.connected || undefined, 10_000);
    const total = FUZZ_COUNT * names.length;
    const warmUp = Math.min(150, Math.floor(total / 10));
    let done = 0;
    let oversized = 0;
    await runBounded(total, 12, async (index) => {
      const input = session.input.fork(`#${index}`);
      const namespace = names[index % names.length]!;
      const events = spaces[namespace]!;
      const known = input.chance(0.88);
      const event = known ? input.pick(Object.keys(events)) : input.chance(0.5) ? input.pick(JUNK_EVENTS) : input.string().slice(0, 100);
      if (RESERVED.has(event)) return void session.problems.count('reserved (not sent)');
      const payload = payloadFor(input, known ? events[event]!() : {});
      const shape = input.int(0, 9);
      // (payload, ack), (ack) alone, (payload, extra, ack), (payload) with no ack, (payload, extra) with no ack.
      const args: unknown[] = shape <= 5 ? [payload] : shape === 6 ? [] : shape === 7 ? [payload, input.value(1)] : shape === 8 ? [payload] : [payload, input.value(1)];
      const wantsAck = shape <= 7;
      const label = describeInput(index, `${namespace} ${JSON.stringify(event).slice(0, 80)} (${args.length} args${wantsAck ? ' + ack' : ''})`, args);
      const size = JSON.stringify(args)?.length ?? 0;
      if (size > 60_000) {
        // Past socket.io's 64 KiB: the server closes that connection; the others go on.
        oversized++;
        const socket = connect(namespace);
        await waitFor('socket connected', () => socket.connected || undefined, 10_000);
        const closed = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
        socket.emit(event, ...args);
        const reason = await Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('still connected'), 5000))]);
        socket.io.opts.reconnection = false;
        socket.close();
        session.problems.count(`oversized: ${reason}`);
        if (reason === 'still connected') session.problems.add('oversized message accepted', label);
      } else {
        const sockets = pools.get(namespace)!;
        const socket = sockets[index % sockets.length]!;
        if (!socket.connected) await waitFor('socket reconnected', () => socket.connected || undefined, 10_000);
        if (!wantsAck) {
          socket.emit(event, ...args);
          session.problems.count('sent without ack');
        } else {
          try {
            const response = await socket.timeout(8000).emitWithAck(event, ...args);
            const code = (response as { error?: { code?: string } })?.error?.code;
            session.problems.count(code ?? ((response as { ok?: boolean })?.ok ? 'ok' : typeof (response as { now?: unknown })?.now === 'number' ? 'now' : 'other'));
            const problem = ackProblem(known ? event : '', response);
            if (problem) session.problems.add('unclear ack', `${label} → ${problem}`);
            if (!known && code !== 'unknown_event') session.problems.add('junk event not refused', `${label} → ${JSON.stringify(response)?.slice(0, 200)}`);
          } catch (error) {
            session.problems.count('no ack');
            session.problems.add('no ack', `${label} → ${(error as Error).message}`);
          }
        }
      }
      if (++done === warmUp) await session.warmedUp();
    });
    // The pooled connections survived everything that was not oversized: each still gets answers.
    for (const [namespace, sockets] of pools) {
      for (const socket of sockets) {
        const event = namespace === '/live' ? 'time' : namespace === '/operator' ? 'list-presets' : 'watch-chat';
        const response = await socket.timeout(8000).emitWithAck(event, namespace === '/audience' ? { streamId: idle } : undefined);
        expect(ackProblem(event, response), `${namespace} ${event}`).toBeUndefined();
        socket.close();
      }
    }
    console.log(`fuzz socket: ${oversized} oversized messages`);
    await session.finish('socket', total);
  }, 180_000);

  it('refuses unknown namespaces and keeps serving the real ones', async () => {
    const errors: string[] = [];
    for (const namespace of ['/nope', '/operator/../admin', '/%2e%2e', '/live ', `/${'x'.repeat(300)}`]) {
      const socket = io(`${session.url}${namespace}`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'], reconnection: false });
      errors.push(await new Promise<string>((resolve) => {
        socket.once('connect_error', (error) => resolve(error.message));
        socket.once('connect', () => resolve('connected'));
      }));
      socket.close();
    }
    expect(errors.every((message) => message !== 'connected'), errors.join(', ')).toBe(true);
    const live = connect('/live');
    expect(typeof (await live.timeout(5000).emitWithAck('time')).now).toBe('number');
    live.close();
  });
});
