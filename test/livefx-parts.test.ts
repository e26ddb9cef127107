import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, adminApi } from './helpers/admin-api.js';
import { loadConfig } from '../core/config.js';
import { LivefxDatabase } from '../core/database.js';
import { LocalAudienceBus } from '../core/local-audience-bus.js';
import type { AudienceBusMessage } from '../core/audience-bus.js';
import { LocalStreamDirectory } from '../core/local-stream-directory.js';
import { LivefxServer } from '../server/livefx-server.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import type { Preset, PresetStore, PresetStoreEvents } from '../server/storage/preset-store.js';
import { SqlitePresetStore } from '../server/storage/sqlite-preset-store.js';

/** The default SQLite preset store behind a wrapper that counts what the server asks of it. */
class CountingPresetStore implements PresetStore {
  readonly calls = { list: 0, get: 0, require: 0, save: 0, delete: 0 };

  constructor(private readonly inner: PresetStore) {}

  list(): Promise<Preset[]> {
    this.calls.list++;
    return this.inner.list();
  }

  get(name: string): Promise<Preset | undefined> {
    this.calls.get++;
    return this.inner.get(name);
  }

  require(name: string): Promise<Preset> {
    this.calls.require++;
    return this.inner.require(name);
  }

  save(name: string, input: unknown, updatedBy: string): Promise<{ preset: Preset; created: boolean }> {
    this.calls.save++;
    return this.inner.save(name, input, updatedBy);
  }

  delete(name: string, deletedBy: string): Promise<void> {
    this.calls.delete++;
    return this.inner.delete(name, deletedBy);
  }

  on<E extends keyof PresetStoreEvents>(event: E, listener: (...args: PresetStoreEvents[E]) => void): this {
    this.inner.on(event, listener);
    return this;
  }

  off<E extends keyof PresetStoreEvents>(event: E, listener: (...args: PresetStoreEvents[E]) => void): this {
    this.inner.off(event, listener);
    return this;
  }
}

let scratch: string;
let database: LivefxDatabase;
let presets: CountingPresetStore;
let directory: LocalStreamDirectory;
let bus: LocalAudienceBus;
let server: LivefxServer;
let url: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-parts-'));
  const dataDir = path.join(scratch, 'data');
  // The injected store has its own connection to livefx.db (as a separate preset service would).
  database = LivefxDatabase.open(dataDir, MIGRATIONS);
  presets = new CountingPresetStore(new SqlitePresetStore({ db: database.db }));
  directory = new LocalStreamDirectory({ nodeId: 'node-a' });
  bus = new LocalAudienceBus({ nodeId: 'node-a' });
  server = new LivefxServer({
    config: loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN }),
    log: pino({ level: 'silent' }),
    parts: { presets, streamDirectory: directory, audienceBus: bus },
  });
  url = (await server.start()).url;
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server?.close();
  database?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('LivefxServer parts', () => {
  it('serves the preset API from an injected preset store', async () => {
    expect(server.parts.presets).toBe(presets);
    const saved = await adminApi(url, '/v1/presets/injected look', { method: 'PUT', body: { transforms: [{ name: 'color', params: { saturation: 1.3 } }] } });
    expect(saved.status).toBe(201);
    expect(presets.calls.save).toBe(1);
    const listed = await adminApi(url, '/v1/presets');
    expect(listed.body.presets.map((preset: Preset) => preset.name)).toEqual(['injected look']);
    expect(presets.calls.list).toBe(1);
    // What the API wrote is in the injected store's own connection.
    expect((await new SqlitePresetStore({ db: database.db }).get('injected look'))?.spec.transforms[0]).toMatchObject({ name: 'color', params: { saturation: 1.3 } });
    expect((await adminApi(url, '/v1/presets/injected look', { method: 'DELETE' })).status).toBe(200);
    expect(presets.calls.delete).toBe(1);
    expect((await adminApi(url, '/v1/presets/injected look')).status).toBe(404);
    expect(presets.calls.require).toBe(1);
  });

  it('claims each new stream in the injected stream directory and releases it when the stream ends', async () => {
    const created = await adminApi(url, '/v1/streams', { method: 'POST', body: { title: 'directory' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await expect.poll(() => directory.lookup(id), { timeout: 5000 }).toMatchObject({ streamId: id, nodeId: 'node-a' });
    expect((await directory.list()).map((location) => location.streamId)).toContain(id);
    expect((await adminApi(url, `/v1/streams/${id}`, { method: 'DELETE' })).status).toBe(200);
    await expect.poll(() => directory.lookup(id), { timeout: 5000 }).toBeUndefined();
  });

  it('carries chat over the injected audience bus, both ways', async () => {
    const created = await adminApi(url, '/v1/streams', { method: 'POST', body: { title: 'bus' } });
    const streamId = created.body.id as string;
    const published: AudienceBusMessage[] = [];
    const unsubscribe = bus.subscribe((message) => published.push(message));
    const socket = io(`${url}/audience`, { transports: ['websocket'] });
    sockets.push(socket);
    const seen: { id: string; user: string; text: string }[] = [];
    socket.on('chat', (message: { id: string; user: string; text: string }) => seen.push(message));
    expect((await socket.timeout(5000).emitWithAck('join', { streamId, name: 'Ada' })).ok).toBe(true);

    // A viewer's message is published on the bus (where other nodes would get it).
    const ack = await socket.timeout(5000).emitWithAck('chat', { streamId, text: 'hello from here' });
    expect(ack.ok).toBe(true);
    expect(published.filter((message) => message.kind === 'chat')).toEqual([
      { kind: 'chat', streamId, origin: 'node-a', body: expect.objectContaining({ streamId, id: ack.message.id, user: 'Ada', text: 'hello from here' }) },
    ]);

    // A message that arrives on the bus (as another node would publish it) reaches this node's viewers and history.
    await bus.publish({ kind: 'chat', streamId, body: { streamId, id: 'from-node-b', user: 'Bea', text: 'hello from there', viewerId: 'viewer-b', at: Date.now() } });
    await expect.poll(() => seen.map((message) => message.text), { timeout: 5000 }).toEqual(['hello from here', 'hello from there']);
    expect(server.audience.history(streamId).map((message) => message.id)).toEqual([ack.message.id, 'from-node-b']);
    unsubscribe();
  });
});
