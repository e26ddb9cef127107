import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, adminFetch, createStream, projectRoot, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { freePort, PostgresServer } from './helpers/postgres-server.js';
import { WhepClient } from './helpers/whep-client.js';
import { WhipClient } from './helpers/whip-client.js';

// Two livefx nodes, each with its own data directory, sharing one PostgreSQL database
// (LIVEFX_DATABASE_URL): what a user creates through one is there through the other, a revocation
// reaches the other, and an outage of PostgreSQL neither stops live streams nor needs a restart.

let cluster: PostgresServer;
let databaseUrl: string;
let nodeA: RunningServer;
let nodeB: RunningServer;
const sockets: Socket[] = [];

const json = { 'content-type': 'application/json' };
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** A socket of `namespace` (default /operator) at `nodeUrl` signed in with `token`, connected (kept for afterAll to close). */
async function operatorSocket(nodeUrl: string, token: string, namespace = '/operator'): Promise<Socket> {
  const socket = io(`${nodeUrl}${namespace}`, { transports: ['websocket'], reconnection: false, auth: { token } });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

async function apiJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await adminFetch(url, init);
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  cluster = await PostgresServer.create();
  databaseUrl = await cluster.createDatabase('cluster');
  // Both at once: the migrations race for the advisory lock.
  [nodeA, nodeB] = await Promise.all([startServer({ LIVEFX_DATABASE_URL: databaseUrl }), startServer({ LIVEFX_DATABASE_URL: databaseUrl })]);
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await nodeA?.stop();
  await nodeB?.stop();
  await cluster?.close();
});

describe('two nodes on one PostgreSQL database', () => {
  it('started together, migrate the shared schema once', async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
      expect(rows.map((row) => row.id)).toEqual(['auth/1-tokens', 'idempotency/1-create', 'presets/1-create', 'recordings/1-create', 'recordings/2-node-url', 'studio/1-storyboards']);
    } finally {
      await client.end();
    }
    const applied = [nodeA, nodeB].map((node) => /"migrations":(\[[^\]]*\]),"msg":"shared store: PostgreSQL"/.exec(node.output())?.[1]);
    expect(applied.sort()).toEqual(['["presets/1-create","recordings/1-create","recordings/2-node-url","auth/1-tokens","studio/1-storyboards","idempotency/1-create"]', '[]']);
    expect(nodeA.dataDir).not.toBe(nodeB.dataDir);
  });

  it('share tokens: one made on A works on B, and revoked on A it stops working on B (HTTP at once, sockets within 10 s)', async () => {
    const issued = await apiJson(`${nodeA.url}/v1/tokens`, { method: 'POST', headers: json, body: JSON.stringify({ role: 'operator', label: 'cluster operator' }) });
    expect(issued.status).toBe(201);
    const token = issued.body.token as string;
    expect((await (await fetch(`${nodeB.url}/v1/auth/whoami`, { headers: bearer(token) })).json())).toMatchObject({ role: 'operator', tokenId: issued.body.id, label: 'cluster operator' });
    expect((await fetch(`${nodeB.url}/v1/presets`, { headers: bearer(token) })).status).toBe(200);
    expect((await apiJson(`${nodeB.url}/v1/tokens`)).body.tokens.map((record: any) => record.id)).toContain(issued.body.id);
    const socket = await operatorSocket(nodeB.url, token);
    const dropped = new Promise<number>((resolve) => socket.once('disconnect', () => resolve(Date.now())));
    const revokedAt = Date.now();
    expect((await apiJson(`${nodeA.url}/v1/tokens/${issued.body.id}`, { method: 'DELETE' })).status).toBe(200);
    const refused = await fetch(`${nodeB.url}/v1/presets`, { headers: bearer(token) });
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe('invalid_token');
    const droppedAt = await Promise.race([dropped, new Promise<number>((_resolve, reject) => setTimeout(() => reject(new Error('the socket on B was not disconnected within 10 s')), 10_000))]);
    expect(droppedAt - revokedAt).toBeLessThan(10_000);
  });

  it('share presets and storyboards: saved through either node, listed the same through both, and consoles on the other node told', async () => {
    const operatorConsole = await operatorSocket(nodeB.url, ADMIN_TOKEN);
    const heard: { presets: { name: string }[] }[] = [];
    operatorConsole.on('presets', (event: { presets: { name: string }[] }) => heard.push(event));
    const saved = await apiJson(`${nodeA.url}/v1/presets/cluster%20warm`, { method: 'PUT', headers: json, body: JSON.stringify({ transforms: [{ name: 'color', params: { saturation: 1.4 } }] }) });
    expect(saved.status).toBe(201);
    await waitFor('node B\'s operator console told of the preset saved through A', () => heard.some((event) => event.presets.some((preset) => preset.name === 'cluster warm')) || undefined, 10_000);
    expect((await apiJson(`${nodeB.url}/v1/presets/cluster%20warm`, { method: 'PUT', headers: json, body: JSON.stringify({ transforms: [{ name: 'color', params: { saturation: 0.6 } }] }) })).status).toBe(200);
    const [throughA, throughB] = await Promise.all([apiJson(`${nodeA.url}/v1/presets`), apiJson(`${nodeB.url}/v1/presets`)]);
    expect(throughA.body).toEqual(throughB.body);
    expect(throughA.body.presets.find((preset: any) => preset.name === 'cluster warm').spec.transforms[0].params.saturation).toBe(0.6);

    const planned = await apiJson(`${nodeB.url}/v1/video/storyboards`, { method: 'POST', headers: json, body: JSON.stringify({ prompt: 'the garden hour and the weekend plans, with a title card', shots: 3, sources: { recording_ids: [], asset_ids: [] } }) });
    expect(planned.status, JSON.stringify(planned.body)).toBe(201);
    expect((await apiJson(`${nodeA.url}/v1/video/storyboards/${planned.body.id}`)).body).toEqual(planned.body);
    const [listA, listB] = await Promise.all([apiJson(`${nodeA.url}/v1/video/storyboards`), apiJson(`${nodeB.url}/v1/video/storyboards`)]);
    expect(listA.body).toEqual(listB.body);
    expect(JSON.stringify(listA.body)).toContain(planned.body.id);
  });

  it('survive a PostgreSQL outage: the live stream flows, store calls answer 503 store_unavailable, and all resumes by itself', async () => {
    const stream = await createStream(nodeA.url, 'through the outage');
    const publisher = new WhipClient({ endpoint: `${nodeA.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    const viewer = new WhepClient(`${nodeA.url}/whep/${stream.id}`);
    try {
      await publisher.start();
      await viewer.start();
      await waitFor('30 frames at the viewer', () => viewer.frames.length >= 30 || undefined, 30_000);
      // The recording made on A is listed through B.
      const recording = await waitFor('the recording listed through node B', async () => (await apiJson(`${nodeB.url}/v1/recordings?streamId=${stream.id}`)).body.recordings[0]);
      expect(recording.state).toBe('recording');

      await cluster.stop();
      const seenAtStop = viewer.frames.length;
      const presets = await apiJson(`${nodeA.url}/v1/presets`);
      expect(presets.status).toBe(503);
      expect(presets.body.error.code).toBe('store_unavailable');
      expect(presets.body.error.message).toContain(`127.0.0.1:${cluster.port}`);
      expect((await apiJson(`${nodeB.url}/v1/recordings`)).body.error.code).toBe('store_unavailable');
      // What needs no store still answers: the stream's state, a chain change (recorded once the store is back).
      expect((await apiJson(`${nodeA.url}/v1/streams/${stream.id}`)).body.state).toBe('live');
      // The publish page signs in with the stream key, which needs no store.
      await operatorSocket(nodeA.url, stream.streamKey, '/live');
      const changed = await apiJson(`${nodeA.url}/v1/streams/${stream.id}/transforms`, { method: 'PUT', headers: json, body: JSON.stringify({ transforms: [{ name: 'color', params: { contrast: 1.25 } }] }) });
      expect(changed.status).toBe(200);
      await waitFor('60 more frames at the viewer while PostgreSQL is down', () => viewer.frames.length >= seenAtStop + 60 || undefined, 30_000);
      expect(cluster.running).toBe(false);

      await cluster.start();
      await waitFor('node A answering the preset list again', async () => ((await adminFetch(`${nodeA.url}/v1/presets`)).status === 200 ? true : undefined), 30_000);
      await waitFor('node B answering the recordings list again', async () => ((await adminFetch(`${nodeB.url}/v1/recordings`)).status === 200 ? true : undefined), 30_000);
      // The nodes listen to each other again: a preset saved through A reaches B's console.
      const operatorConsole = await operatorSocket(nodeB.url, ADMIN_TOKEN);
      const heard: string[] = [];
      operatorConsole.on('presets', (event: { presets: { name: string }[] }) => heard.push(...event.presets.map((preset) => preset.name)));
      await waitFor('node B\'s console told of presets saved through A after the outage', async () => {
        if (heard.some((name) => name.startsWith('after outage'))) return true;
        await adminFetch(`${nodeA.url}/v1/presets/after%20outage%20${Date.now()}`, { method: 'PUT', headers: json, body: '{"transforms":[]}' });
        return undefined;
      }, 30_000, 1000);
      // The chain change made during the outage reached the shared catalog by itself.
      const chainEvents = await waitFor('the outage\'s chain change in the catalog, read through B', async () => {
        const lines = (await (await adminFetch(`${nodeB.url}/v1/recordings/${recording.id}/events?type=chain`)).text()).split('\n').filter(Boolean).map((line) => JSON.parse(line));
        return lines.some((event: any) => event.transforms?.[0]?.params?.contrast === 1.25) ? lines : undefined;
      }, 30_000);
      expect(chainEvents.length).toBeGreaterThan(0);
      await publisher.stop();
      const finished = await waitFor('the recording complete, read through B', async () => {
        const current = (await apiJson(`${nodeB.url}/v1/recordings/${recording.id}`)).body;
        return current.state === 'complete' ? current : undefined;
      }, 30_000);
      expect(finished.durationS).toBeGreaterThan(1);
      expect(nodeA.output()).toMatch(/PostgreSQL cannot be reached/);
      expect(nodeA.output()).toMatch(/PostgreSQL is reachable again/);
      expect(nodeA.output()).not.toMatch(/unhandled rejection|uncaughtException/i);
      expect(nodeA.process.exitCode).toBeNull();
      expect(nodeB.process.exitCode).toBeNull();
    } finally {
      await viewer.stop();
      await publisher.stop();
    }
  });

  it('generate one admin token for the whole cluster; `livefx admin-token --rotate` on PostgreSQL replaces it on every node, and local-only commands refuse', async () => {
    const nodeC = await startServer({ LIVEFX_DATABASE_URL: databaseUrl, LIVEFX_ADMIN_TOKEN: '' });
    try {
      const generated = /ADMIN TOKEN[^\n]*\n\s+(lfx_adm_\S+)/.exec(nodeC.output())?.[1];
      expect(generated, nodeC.output()).toBeDefined();
      expect((await fetch(`${nodeA.url}/v1/tokens`, { headers: bearer(generated!) })).status).toBe(200);
      const env = { ...process.env, LIVEFX_DATA_DIR: nodeC.dataDir, LIVEFX_DATABASE_URL: databaseUrl };
      const cli = path.join(projectRoot, 'bin', 'livefx.js');
      const rotated = await promisify(execFile)(process.execPath, [cli, 'admin-token', '--rotate'], { env });
      expect(rotated.stderr).toContain(`new admin token for PostgreSQL at postgres://postgres@127.0.0.1:${cluster.port}/`);
      const fresh = rotated.stdout.trim();
      expect(fresh).toMatch(/^lfx_adm_/);
      for (const node of [nodeA, nodeB, nodeC]) {
        expect((await fetch(`${node.url}/v1/tokens`, { headers: bearer(generated!) })).status).toBe(401);
        expect((await fetch(`${node.url}/v1/tokens`, { headers: bearer(fresh) })).status).toBe(200);
      }
      const imported = await promisify(execFile)(process.execPath, [cli, 'import', path.join(projectRoot, 'package.json')], { env }).catch((error: { code: number; stderr: string }) => error);
      expect((imported as { code: number }).code).toBe(1);
      expect((imported as { stderr: string }).stderr).toMatch(/LIVEFX_DATABASE_URL keeps recordings, presets and storyboards in PostgreSQL: set LIVEFX_URL/);
    } finally {
      await nodeC.stop();
    }
  });
});

describe('a node whose PostgreSQL cannot be reached', () => {
  it('refuses to start, naming the URL with its password masked, and exits with code 1', async () => {
    const port = await freePort();
    const error = await startServer({ LIVEFX_DATABASE_URL: `postgres://livefx:hunter2-secret@127.0.0.1:${port}/livefx` }).then(
      () => undefined,
      (reason: unknown) => String(reason),
    );
    expect(error).toMatch(/server exited with 1 before it started/);
    expect(error).toContain(`livefx: could not start: cannot reach PostgreSQL at postgres://livefx:***@127.0.0.1:${port}/livefx (LIVEFX_DATABASE_URL)`);
    expect(error).not.toContain('hunter2-secret');
  });

  it('refuses a LIVEFX_DATABASE_URL that is not a postgres:// URL before anything starts', async () => {
    const error = await startServer({ LIVEFX_DATABASE_URL: 'mysql://db/livefx' }).then(
      () => undefined,
      (reason: unknown) => String(reason),
    );
    expect(error).toMatch(/server exited with 2 before it started/);
    expect(error).toMatch(/LIVEFX_DATABASE_URL: must be a postgres:\/\//);
  });
});
