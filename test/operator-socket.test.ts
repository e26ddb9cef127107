import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, waitFor, adminFetch as fetch, ADMIN_TOKEN } from './helpers/livefx-process.js';
import { serverForFile, trackedSocket } from './helpers/test-lifecycle.js';

const session = serverForFile();

function operatorConsole(): Socket {
  return trackedSocket(session.sockets, `${session.server.url}/operator`, ADMIN_TOKEN);
}

interface ChainEvent {
  streamId: string;
  chain: { transforms: { name: string; params: Record<string, unknown> }[] };
  changedBy: string;
}

describe('/operator namespace', () => {
  it('broadcasts every change to all consoles of the stream, saying who made it', async () => {
    const stream = await createStream(session.server.url);
    const first = operatorConsole();
    const second = operatorConsole();
    const seenBySecond: ChainEvent[] = [];
    second.on('chain', (event: ChainEvent) => seenBySecond.push(event));
    expect(await first.timeout(5000).emitWithAck('join', { streamId: stream.id })).toEqual({ ok: true, chain: { transforms: [] } });
    expect((await second.timeout(5000).emitWithAck('join', { streamId: stream.id })).ok).toBe(true);

    const ack = await first.timeout(5000).emitWithAck('set-chain', { streamId: stream.id, spec: { transforms: [{ name: 'color', params: { saturation: 1.5 } }] } });
    expect(ack.ok).toBe(true);
    expect(ack.chain.transforms[0].params.saturation).toBe(1.5);
    await waitFor('broadcast to the second console', () => seenBySecond[0]);
    expect(seenBySecond[0]!.changedBy).toContain(first.id);
    expect(seenBySecond[0]!.chain.transforms[0]!.params.saturation).toBe(1.5);

    // A change through the HTTP API reaches the consoles too.
    await fetch(`${session.server.url}/v1/streams/${stream.id}/transforms/0`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"params":{"saturation":0.5}}' });
    await waitFor('HTTP change broadcast', () => seenBySecond[1]);
    expect(seenBySecond[1]!.changedBy).toMatch(/^http /);

    const patched = await second.timeout(5000).emitWithAck('patch-transform', { streamId: stream.id, index: 0, patch: { enabled: false } });
    expect(patched.chain.transforms[0].enabled).toBe(false);
  });

  it('answers refusals with an error code and a message naming the problem', async () => {
    const stream = await createStream(session.server.url);
    const socket = operatorConsole();
    const ask = (event: string, message: unknown) => socket.timeout(5000).emitWithAck(event, message);
    expect(await ask('join', { streamId: 'nope' })).toEqual({ ok: false, error: { code: 'not_found', message: 'no stream with id "nope"' } });
    expect((await ask('join', 'garbage')).error.code).toBe('bad_request');
    const invalid = await ask('set-chain', { streamId: stream.id, spec: { transforms: [{ name: 'color', params: { saturation: 9 } }] } });
    expect(invalid.error.code).toBe('invalid_chain');
    expect(invalid.error.message).toMatch(/^transforms\.0\.params\.saturation:/);
    expect((await ask('set-chain', { streamId: stream.id, spec: { transforms: [{ name: 'lut3d', params: { file: 'none.cube' } }] } })).error.code).toBe('lut_not_found');
    expect((await ask('patch-transform', { streamId: stream.id, index: 3, patch: { enabled: true } })).error.code).toBe('transform_not_found');
    await ask('set-chain', { streamId: stream.id, spec: { transforms: [{ name: 'color' }] } });
    expect((await ask('patch-transform', { streamId: stream.id, index: 0, patch: {} })).error.code).toBe('invalid_request');
    expect((await ask('patch-transform', { streamId: stream.id, index: 'x' })).error.code).toBe('bad_request');
    await fetch(`${session.server.url}/v1/streams/${stream.id}`, { method: 'DELETE' });
    expect((await ask('set-chain', { streamId: stream.id, spec: { transforms: [] } })).error.code).toBe('stream_ended');
  });
});
