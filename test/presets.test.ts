import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch, ADMIN_TOKEN } from './helpers/livefx-process.js';
import { serverForFile, trackedSocket } from './helpers/test-lifecycle.js';
import { LivefxDatabase, MigrationError } from '../core/database.js';
import { MIGRATIONS } from '../server/storage/migrations.js';

interface PresetBody {
  name: string;
  spec: { transforms: { name: string; enabled: boolean; params: Record<string, unknown> }[] };
  createdAt: string;
  updatedAt: string;
}
interface ErrorBody {
  error: { code: string; message: string };
}

const session = serverForFile();

function operatorConsole(url = session.server.url): Socket {
  return trackedSocket(session.sockets, `${url}/operator`, ADMIN_TOKEN);
}

const putPreset = (name: string, body: unknown, url = session.server.url) =>
  fetch(`${url}/v1/presets/${encodeURIComponent(name)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const applyOverHttp = (streamId: string, name: string) =>
  fetch(`${session.server.url}/v1/streams/${streamId}/transforms/preset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

describe('preset HTTP API', () => {
  it('saves a chain with its defaults filled in, replaces it, lists by name and deletes', async () => {
    const created = await putPreset('warm', { transforms: [{ name: 'color', params: { saturation: 1.4 } }] });
    expect(created.status).toBe(201);
    const first = await json<PresetBody>(created);
    expect(first.name).toBe('warm');
    expect(first.spec.transforms).toEqual([{ name: 'color', enabled: true, params: { brightness: 0, contrast: 1, saturation: 1.4, gamma: 1, temperature: 0, tint: 0 } }]);

    await new Promise((resolve) => setTimeout(resolve, 5));
    const replaced = await putPreset('warm', { transforms: [{ name: 'color', params: { saturation: 0.6 } }] });
    expect(replaced.status).toBe(200);
    const second = await json<PresetBody>(replaced);
    expect(second.spec.transforms[0]!.params.saturation).toBe(0.6);
    expect(second.createdAt).toBe(first.createdAt);
    expect(second.updatedAt > first.updatedAt).toBe(true);

    expect((await putPreset('Blocky look.v2', { transforms: [{ name: 'pixelate' }] })).status).toBe(201);
    expect((await putPreset('alpha_1', { transforms: [] })).status).toBe(201);
    const list = await json<{ presets: PresetBody[] }>(await fetch(`${session.server.url}/v1/presets`));
    const names = list.presets.map((preset) => preset.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['warm', 'Blocky look.v2', 'alpha_1']));
    expect(list.presets.find((preset) => preset.name === 'warm')).toMatchObject({ spec: second.spec, createdAt: first.createdAt, updatedAt: second.updatedAt });

    const one = await fetch(`${session.server.url}/v1/presets/${encodeURIComponent('Blocky look.v2')}`);
    expect(one.status).toBe(200);
    expect((await json<PresetBody>(one)).spec.transforms[0]).toEqual({ name: 'pixelate', enabled: true, params: { blockSize: 16 } });

    // Every preset change is logged with who made it.
    await waitFor('the log line', () => (/"action":"replaced","name":"warm","by":"http [^"]+".*"msg":"preset replaced"/.test(session.server.output()) ? true : undefined), 3000);

    expect((await fetch(`${session.server.url}/v1/presets/alpha_1`, { method: 'DELETE' })).status).toBe(200);
    const gone = await fetch(`${session.server.url}/v1/presets/alpha_1`);
    expect(gone.status).toBe(404);
    expect((await json<ErrorBody>(gone)).error.code).toBe('preset_not_found');
    const again = await fetch(`${session.server.url}/v1/presets/alpha_1`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect((await json<ErrorBody>(again)).error.code).toBe('preset_not_found');
  });

  it('refuses bad names and bad specs, naming the problem, and stores nothing', async () => {
    for (const name of ['../etc/passwd', ' leading-space', '.hidden', 'x'.repeat(65), 'semi;colon', 'slash/inside']) {
      const response = await putPreset(name, { transforms: [] });
      expect(response.status, name).toBe(400);
      expect((await json<ErrorBody>(response)).error.code, name).toBe('invalid_preset_name');
    }
    const cases: [unknown, RegExp][] = [
      [{ transforms: [{ name: 'sparkles' }] }, /^transforms\.0\.name:/],
      [{ transforms: [{ name: 'color', params: { saturation: 7 } }] }, /^transforms\.0\.params\.saturation:/],
      [{ transforms: [{ name: 'lut3d', params: { file: '../../etc/passwd.cube' } }] }, /^transforms\.0\.params\.file: must be the name of a \.cube file/],
      [{}, /^transforms:/],
    ];
    for (const [body, message] of cases) {
      const response = await putPreset('refused', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const { error } = await json<ErrorBody>(response);
      expect(error.code).toBe('invalid_chain');
      expect(error.message).toMatch(message);
    }
    expect((await fetch(`${session.server.url}/v1/presets/refused`)).status).toBe(404);
  });

  it('applies a preset to a stream like PUT /transforms: disclosure label, asset checks, stream errors', async () => {
    const stream = await createStream(session.server.url);
    const operator = operatorConsole();
    const events: { chain: PresetBody['spec']; changedBy: string }[] = [];
    operator.on('chain', (event: { chain: PresetBody['spec']; changedBy: string }) => events.push(event));
    expect((await operator.timeout(5000).emitWithAck('join', { streamId: stream.id })).ok).toBe(true);

    await putPreset('stylized', { transforms: [{ name: 'color', params: { contrast: 1.3 } }, { name: 'grain', params: { amount: 0.5 } }] });
    const applied = await applyOverHttp(stream.id, 'stylized');
    expect(applied.status).toBe(200);
    const spec = await json<PresetBody['spec']>(applied);
    expect(spec.transforms.map((entry) => entry.name)).toEqual(['color', 'grain', 'label']);
    expect(spec.transforms[0]!.params.contrast).toBe(1.3);
    expect(await json(await fetch(`${session.server.url}/v1/streams/${stream.id}/transforms`))).toEqual(spec);
    const event = await waitFor('chain broadcast', () => events[0]);
    expect(event.changedBy).toMatch(/^http .*preset "stylized"/);
    expect(event.chain).toEqual(spec);

    const missingPreset = await applyOverHttp(stream.id, 'no such preset');
    expect(missingPreset.status).toBe(404);
    expect((await json<ErrorBody>(missingPreset)).error.code).toBe('preset_not_found');

    await putPreset('needs a lut', { transforms: [{ name: 'lut3d', params: { file: 'absent.cube' } }] });
    const missingLut = await applyOverHttp(stream.id, 'needs a lut');
    expect(missingLut.status).toBe(400);
    expect((await json<ErrorBody>(missingLut)).error.code).toBe('lut_not_found');
    // The refused preset left the running chain alone.
    expect(await json(await fetch(`${session.server.url}/v1/streams/${stream.id}/transforms`))).toEqual(spec);

    const noName = await fetch(`${session.server.url}/v1/streams/${stream.id}/transforms/preset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(noName.status).toBe(400);
    expect((await json<ErrorBody>(noName)).error.message).toMatch(/^name:/);
    expect((await applyOverHttp('nostream', 'stylized')).status).toBe(404);
    await fetch(`${session.server.url}/v1/streams/${stream.id}`, { method: 'DELETE' });
    const ended = await applyOverHttp(stream.id, 'stylized');
    expect(ended.status).toBe(409);
    expect((await json<ErrorBody>(ended)).error.code).toBe('stream_ended');
  });
});

describe('presets over the /operator socket', () => {
  it('saves, lists, applies and deletes, broadcasting every preset change to all consoles', async () => {
    const stream = await createStream(session.server.url);
    const saver = operatorConsole();
    const watcher = operatorConsole(); // joined to no stream: presets are for every console
    const joined = operatorConsole();
    const presetEvents: { presets: PresetBody[] }[] = [];
    const chainEvents: { chain: PresetBody['spec']; changedBy: string }[] = [];
    watcher.on('presets', (event: { presets: PresetBody[] }) => presetEvents.push(event));
    joined.on('chain', (event: { chain: PresetBody['spec']; changedBy: string }) => chainEvents.push(event));
    expect((await joined.timeout(5000).emitWithAck('join', { streamId: stream.id })).ok).toBe(true);
    await waitFor('watcher connected', () => watcher.connected || undefined);
    const ask = (socket: Socket, event: string, message: unknown) => socket.timeout(5000).emitWithAck(event, message);

    const saved = await ask(saver, 'save-preset', { name: 'socket look', spec: { transforms: [{ name: 'vignette', params: { strength: 0.8 } }] } });
    expect(saved).toMatchObject({ ok: true, created: true, preset: { name: 'socket look', spec: { transforms: [{ name: 'vignette', enabled: true, params: { strength: 0.8, radius: 0.6 } }] } } });
    const broadcast = await waitFor('presets broadcast', () => presetEvents.find((event) => event.presets.some((preset) => preset.name === 'socket look')));
    expect(broadcast.presets.map((preset) => preset.name)).toEqual([...broadcast.presets.map((preset) => preset.name)].sort());

    const listed = await ask(watcher, 'list-presets', {});
    expect(listed.ok).toBe(true);
    expect(listed.presets.map((preset: PresetBody) => preset.name)).toContain('socket look');

    // A change over HTTP reaches the consoles as well.
    const before = presetEvents.length;
    await putPreset('socket look', { transforms: [{ name: 'vignette', params: { strength: 0.2 } }] });
    const replaced = await waitFor('HTTP change broadcast', () => presetEvents.slice(before).find((event) => event.presets.some((preset) => preset.name === 'socket look' && preset.spec.transforms[0]!.params.strength === 0.2)));
    expect(replaced).toBeDefined();

    const applied = await ask(saver, 'apply-preset', { streamId: stream.id, name: 'socket look' });
    expect(applied.ok).toBe(true);
    expect(applied.chain.transforms.map((entry: { name: string }) => entry.name)).toEqual(['vignette', 'label']);
    const chainEvent = await waitFor('chain broadcast', () => chainEvents[0]);
    expect(chainEvent.changedBy).toContain(saver.id);
    expect(chainEvent.changedBy).toContain('preset "socket look"');

    expect((await ask(saver, 'save-preset', { name: '../x', spec: { transforms: [] } })).error.code).toBe('invalid_preset_name');
    const invalid = await ask(saver, 'save-preset', { name: 'bad', spec: { transforms: [{ name: 'color', params: { gamma: 99 } }] } });
    expect(invalid.error.code).toBe('invalid_chain');
    expect(invalid.error.message).toMatch(/^transforms\.0\.params\.gamma:/);
    expect((await ask(saver, 'save-preset', { spec: {} })).error.code).toBe('bad_request');
    expect((await ask(saver, 'apply-preset', { streamId: stream.id, name: 'nothing' })).error.code).toBe('preset_not_found');
    expect((await ask(saver, 'apply-preset', { streamId: 'nostream', name: 'socket look' })).error.code).toBe('not_found');
    expect((await ask(saver, 'delete-preset', { name: 'nothing' })).error.code).toBe('preset_not_found');

    const deletedAt = presetEvents.length;
    expect(await ask(saver, 'delete-preset', { name: 'socket look' })).toEqual({ ok: true, deleted: 'socket look' });
    const afterDelete = await waitFor('delete broadcast', () => presetEvents[deletedAt]);
    expect(afterDelete.presets.some((preset) => preset.name === 'socket look')).toBe(false);
  });
});

describe('preset storage', () => {
  it('keeps presets across a server restart on the same data directory', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-presets-'));
    try {
      const first = await startServer({ LIVEFX_DATA_DIR: dataDir });
      expect((await putPreset('kept', { transforms: [{ name: 'color', params: { gamma: 1.8 } }] }, first.url)).status).toBe(201);
      expect(await first.stop()).toBe(0);
      const second = await startServer({ LIVEFX_DATA_DIR: dataDir });
      try {
        const kept = await fetch(`${second.url}/v1/presets/kept`);
        expect(kept.status).toBe(200);
        expect((await json<PresetBody>(kept)).spec.transforms[0]!.params.gamma).toBe(1.8);
        // Restarting applied no migration twice.
        expect(second.output()).not.toMatch(/database schema migrated/);
      } finally {
        await second.stop();
      }
      const db = new BetterSqlite3(path.join(dataDir, 'livefx.db'), { readonly: true });
      expect((db.prepare('SELECT id FROM schema_migrations ORDER BY id').all() as { id: string }[]).map((row) => row.id)).toEqual(MIGRATIONS.map((migration) => migration.id).sort());
      db.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('applies each migration once, in order, and rolls back all of them when one fails', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-migrations-'));
    try {
      const later = { id: 'later-feature/1-create', up: (db: BetterSqlite3.Database) => db.exec('CREATE TABLE later_feature (id TEXT PRIMARY KEY)') };
      const first = LivefxDatabase.open(dataDir, MIGRATIONS);
      expect(first.applied).toEqual(MIGRATIONS.map((migration) => migration.id));
      expect(first.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(first.db.pragma('foreign_keys', { simple: true })).toBe(1);
      first.close();
      first.close();
      expect(first.closed).toBe(true);

      // A later feature appends its migrations: only those run.
      const second = LivefxDatabase.open(dataDir, [...MIGRATIONS, later]);
      expect(second.applied).toEqual(['later-feature/1-create']);
      second.close();

      const broken = { id: 'broken/1', up: (db: BetterSqlite3.Database) => db.exec('CREATE TABLE half (x); SELECT * FROM no_such_table') };
      const good = { id: 'good/1', up: (db: BetterSqlite3.Database) => db.exec('CREATE TABLE good (x)') };
      expect(() => LivefxDatabase.open(dataDir, [...MIGRATIONS, later, good, broken])).toThrow(MigrationError);
      const check = LivefxDatabase.open(dataDir, [...MIGRATIONS, later]);
      expect(check.applied).toEqual([]);
      const tables = (check.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name);
      expect(tables).not.toContain('good');
      expect(tables).not.toContain('half');
      check.close();
      expect(() => LivefxDatabase.open(dataDir, [good, good])).toThrow(/appears twice/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
