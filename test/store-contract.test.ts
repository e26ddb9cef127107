import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LivefxDatabase } from '../core/database.js';
import { LivefxError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { PostgresDatabase } from '../core/postgres-database.js';
import { PostgresRecordingCatalog } from '../recorder/postgres-recording-catalog.js';
import { allEvents, type RecordingCatalogStore, type RecordingEvent, type RecordingRow, type SegmentRow } from '../recorder/recording-catalog.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import { PostgresTokenStore } from '../server/auth/postgres-token-store.js';
import { SqliteTokenStore } from '../server/auth/sqlite-token-store.js';
import type { TokenRecord, TokenStore } from '../server/auth/token-store.js';
import type { IdempotencyStore } from '../server/storage/idempotency-store.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import { PostgresIdempotencyStore } from '../server/storage/postgres-idempotency-store.js';
import { SqliteIdempotencyStore } from '../server/storage/sqlite-idempotency-store.js';
import { PostgresPresetStore } from '../server/storage/postgres-preset-store.js';
import type { Preset, PresetChange, PresetStore } from '../server/storage/preset-store.js';
import { SqlitePresetStore } from '../server/storage/sqlite-preset-store.js';
import type { StoryboardStore } from '../studio/ports.js';
import { PostgresStoryboardStore } from '../studio/postgres-storyboard-store.js';
import { SqliteStoryboardStore } from '../studio/sqlite-storyboard-store.js';
import type { StoryboardBody, StoryboardProvenance } from '../studio/storyboard.js';
import { waitFor } from './helpers/livefx-process.js';
import { freePort, PostgresServer } from './helpers/postgres-server.js';

// The same contract for every backend of the stores behind the server's async seams: livefx.db
// (SQLite) and a real PostgreSQL cluster started for this file. A backend passes when a user could not
// tell which one the server ran on.

const log = createLogger('silent');
let cluster: PostgresServer;

beforeAll(async () => {
  cluster = await PostgresServer.create();
});

afterAll(async () => {
  await cluster?.close();
});

interface Stores {
  tokens: TokenStore;
  presets: PresetStore;
  catalog: RecordingCatalogStore;
  storyboards: StoryboardStore;
  idempotency: IdempotencyStore;
  close(): Promise<void>;
}

const backends: { name: string; open(): Promise<Stores> }[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = await mkdtemp(path.join(tmpdir(), 'livefx-stores-'));
      const database = LivefxDatabase.open(dir, MIGRATIONS);
      const db = database.db;
      return {
        tokens: new SqliteTokenStore({ db }),
        presets: new SqlitePresetStore({ db }),
        catalog: new SqliteRecordingCatalog({ db }),
        storyboards: new SqliteStoryboardStore(db),
        idempotency: new SqliteIdempotencyStore({ db }),
        async close() {
          database.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      // A fresh database per test: nothing one test stores is seen by the next.
      const database = await PostgresDatabase.open({ url: await cluster.createDatabase('contract'), migrations: MIGRATIONS, log });
      return {
        tokens: new PostgresTokenStore({ database }),
        presets: new PostgresPresetStore({ database }),
        catalog: new PostgresRecordingCatalog({ database }),
        storyboards: new PostgresStoryboardStore({ database }),
        idempotency: new PostgresIdempotencyStore({ database }),
        close: () => database.close(),
      };
    },
  },
];

const recording = (id: string, overrides: Partial<RecordingRow> = {}): RecordingRow => ({
  id,
  streamId: 'stream-a',
  title: `recording ${id}`,
  state: 'recording',
  startedAt: '2026-12-01T10:00:00.000Z',
  endedAt: null,
  durationS: 0,
  ...overrides,
});

const segment = (recordingId: string, kind: SegmentRow['kind'], index: number, bytes = 1000): SegmentRow => ({
  recordingId,
  kind,
  index,
  file: `${kind}/${String(index).padStart(6, '0')}.mkv`,
  startS: index * 4,
  durationS: 4.004,
  bytes,
});

const body = (prompt: string): StoryboardBody =>
  ({ prompt, style: 'warm', aspect: '16:9', duration_s: 10, seed: 7, shots: [{ index: 0, start: 0, duration: 10, kind: 'title', text: prompt, reasons: ['a title'] }] }) as StoryboardBody;

const provenance = (prompt: string): StoryboardProvenance => ({ planner: 'test', prompt, seed: 7, sources: [], asset_ids: [], planned_at: '2026-12-01T10:00:00.000Z' });

const refusal = async (promise: Promise<unknown>): Promise<string | undefined> => {
  try {
    await promise;
  } catch (error) {
    return error instanceof LivefxError ? error.code : `not a LivefxError: ${String(error)}`;
  }
  return undefined;
};

describe.each(backends)('the stores on $name', (backend) => {
  let stores: Stores;
  beforeEach(async () => {
    stores = await backend.open();
  });
  afterEach(async () => {
    await stores?.close();
  });

  describe('tokens', () => {
    it('verify a live secret, never a wrong one; list without secrets; revoke once, announced', async () => {
      const { tokens } = stores;
      const operator = await tokens.issue('operator', { streamId: 'stream-a' });
      const admin = await tokens.issue('admin', { label: 'night admin' });
      expect(operator.token).toMatch(/^lfx_op_/);
      expect(await tokens.verify(operator.token)).toEqual({ id: operator.id, role: 'operator', streamId: 'stream-a', label: 'operator of stream-a', createdAt: operator.createdAt });
      expect(await tokens.verify(`${operator.token}x`)).toBeUndefined();
      expect((await tokens.list()).map((record) => record.id).sort()).toEqual([operator.id, admin.id].sort());
      expect(JSON.stringify(await tokens.list())).not.toContain(operator.token);
      const announced: TokenRecord[] = [];
      tokens.on('revoked', (record) => announced.push(record));
      const revoked = await tokens.revoke(operator.id);
      expect(revoked.revokedAt).toBeDefined();
      expect(await tokens.verify(operator.token)).toBeUndefined();
      expect(await tokens.revoke(operator.id)).toEqual(revoked);
      expect(announced.map((record) => record.id)).toEqual([operator.id]);
      expect((await tokens.get(operator.id))?.revokedAt).toBe(revoked.revokedAt);
      expect(await refusal(tokens.revoke('no-such-token'))).toBe('token_not_found');
    });

    it('rotate the admin: every stored admin token is revoked and the new one works', async () => {
      const { tokens } = stores;
      expect(await tokens.hasAdmin()).toBe(false);
      const first = await tokens.issue('admin');
      const second = await tokens.issue('admin');
      expect(await tokens.hasAdmin()).toBe(true);
      const rotated = await tokens.rotateAdmin('rotated');
      expect(await tokens.verify(first.token)).toBeUndefined();
      expect(await tokens.verify(second.token)).toBeUndefined();
      expect(await tokens.verify(rotated.token)).toMatchObject({ id: rotated.id, role: 'admin', label: 'rotated' });
      expect((await tokens.list()).filter((record) => record.revokedAt === undefined).map((record) => record.id)).toEqual([rotated.id]);
    });
  });

  describe('presets', () => {
    it('save with defaults filled in, replace, list in byte order of names, and delete, announcing each change', async () => {
      const { presets } = stores;
      const changes: PresetChange[] = [];
      let lastList: Preset[] = [];
      presets.on('changed', (list, change) => {
        lastList = list;
        changes.push(change);
      });
      const saved = await presets.save('warm', { transforms: [{ name: 'color', params: { saturation: 1.3 } }] }, 'alice');
      expect(saved.created).toBe(true);
      expect(saved.preset.spec.transforms[0]).toMatchObject({ name: 'color', enabled: true, params: { saturation: 1.3, contrast: 1, gamma: 1 } });
      const replaced = await presets.save('warm', { transforms: [{ name: 'color', params: { saturation: 0.5 } }] }, 'bob');
      expect(replaced).toMatchObject({ created: false, preset: { updatedBy: 'bob', createdAt: saved.preset.createdAt } });
      await presets.save('Bright', { transforms: [] }, 'alice');
      await presets.save('_base', { transforms: [] }, 'alice');
      expect((await presets.list()).map((preset) => preset.name)).toEqual(['Bright', '_base', 'warm']);
      expect(lastList.map((preset) => preset.name)).toEqual(['Bright', '_base', 'warm']);
      expect((await presets.require('warm')).spec.transforms[0]!.params).toMatchObject({ saturation: 0.5 });
      await presets.delete('warm', 'carol');
      expect(await presets.get('warm')).toBeUndefined();
      expect(changes.map((change) => `${change.action} ${change.name} by ${change.by}`)).toEqual(['created warm by alice', 'replaced warm by bob', 'created Bright by alice', 'created _base by alice', 'deleted warm by carol']);
    });

    it('refuse a bad name, a bad spec and a missing preset with the same codes', async () => {
      const { presets } = stores;
      expect(await refusal(presets.save('../etc', { transforms: [] }, 'x'))).toBe('invalid_preset_name');
      expect(await refusal(presets.save('ok', { transforms: [{ name: 'color', params: { saturation: 9 } }] }, 'x'))).toBe('invalid_chain');
      expect(await refusal(presets.require('absent'))).toBe('preset_not_found');
      expect(await refusal(presets.delete('absent', 'x'))).toBe('preset_not_found');
      expect(await presets.list()).toEqual([]);
    });
  });

  describe('recordings catalog', () => {
    it('lists newest first with stream and date filters, by state, and finishes a recording', async () => {
      const { catalog } = stores;
      await catalog.create(recording('r1', { startedAt: '2026-12-01T10:00:00.000Z' }));
      await catalog.create(recording('r2', { startedAt: '2026-12-02T10:00:00.000Z', streamId: 'stream-b' }));
      await catalog.create(recording('r3', { startedAt: '2026-12-03T10:00:00.000Z', streamId: null, state: 'imported', endedAt: '2026-12-03T10:01:00.000Z', durationS: 60.125 }));
      expect((await catalog.list()).map((row) => row.id)).toEqual(['r3', 'r2', 'r1']);
      expect((await catalog.list({ streamId: 'stream-a' })).map((row) => row.id)).toEqual(['r1']);
      expect((await catalog.list({ from: '2026-12-02T00:00:00.000Z', to: '2026-12-02T23:59:59.999Z' })).map((row) => row.id)).toEqual(['r2']);
      expect((await catalog.inState('recording')).map((row) => row.id)).toEqual(['r1', 'r2']);
      await catalog.finish('r1', 'complete', '2026-12-01T10:00:12.345Z', 12.345);
      expect(await catalog.get('r1')).toEqual(recording('r1', { state: 'complete', endedAt: '2026-12-01T10:00:12.345Z', durationS: 12.345 }));
      expect(await catalog.get('r3')).toEqual(recording('r3', { startedAt: '2026-12-03T10:00:00.000Z', streamId: null, state: 'imported', endedAt: '2026-12-03T10:01:00.000Z', durationS: 60.125 }));
      expect(await catalog.get('absent')).toBeUndefined();
    });

    it('registers segments once each, in kind then index order, with sizes past 4 GiB', async () => {
      const { catalog } = stores;
      await catalog.create(recording('r1'));
      await catalog.addSegment(segment('r1', 'transformed', 0));
      await catalog.addSegment(segment('r1', 'original', 1, 5_000_000_000));
      await catalog.addSegment(segment('r1', 'original', 0));
      await catalog.addSegment({ ...segment('r1', 'original', 0), bytes: 1 });
      expect(await catalog.segments('r1')).toEqual([segment('r1', 'original', 0), segment('r1', 'original', 1, 5_000_000_000), segment('r1', 'transformed', 0)]);
      expect(await catalog.segments('r1', 'transformed')).toEqual([segment('r1', 'transformed', 0)]);
    });

    it('appends events idempotently and reads them in time order across pages, filtered, counted and with removed chats', async () => {
      const { catalog } = stores;
      await catalog.create(recording('r1'));
      // 2,500 events: more than two pages; t repeats so the (t, seq) order decides.
      const events: RecordingEvent[] = Array.from({ length: 2500 }, (_, i) => ({
        seq: i + 1,
        t: Math.floor((2500 - i) / 2) + 0.001,
        type: i % 10 === 0 ? 'chat' : 'reaction',
        payload: i % 10 === 0 ? { messageId: `m${i}`, text: `héllo "${i}" ✓` } : { kind: 'like' },
      }));
      expect(await catalog.insertEvents('r1', events.slice(0, 1500))).toBe(1500);
      expect(await catalog.insertEvents('r1', events.slice(1000))).toBe(1000);
      expect(await catalog.insertEvents('r1', [])).toBe(0);
      await catalog.insertEvents('r1', [{ seq: 2501, t: 3.5, type: 'moderation', payload: { action: 'remove-chat', messageId: 'm10' } }, { seq: 2502, t: 3.6, type: 'moderation', payload: { action: 'mute', viewerId: 'v1' } }]);
      const read = await allEvents(catalog, 'r1');
      expect(read).toHaveLength(2502);
      const sorted = [...read].sort((a, b) => a.t - b.t || a.seq - b.seq);
      expect(read.map((event) => event.seq)).toEqual(sorted.map((event) => event.seq));
      expect(read.find((event) => event.seq === 1)).toEqual(events[0]);
      expect(await allEvents(catalog, 'r1', { types: ['moderation'] })).toEqual([
        { seq: 2501, t: 3.5, type: 'moderation', payload: { action: 'remove-chat', messageId: 'm10' } },
        { seq: 2502, t: 3.6, type: 'moderation', payload: { action: 'mute', viewerId: 'v1' } },
      ]);
      const chatsFrom10To20 = events.filter((event) => event.type === 'chat' && event.t >= 10 && event.t <= 20).sort((a, b) => a.t - b.t || a.seq - b.seq);
      expect(chatsFrom10To20.length).toBeGreaterThan(1);
      expect(await allEvents(catalog, 'r1', { types: ['chat'], fromS: 10, toS: 20 })).toEqual(chatsFrom10To20);
      expect(Object.fromEntries(await catalog.eventCounts('r1'))).toEqual({ chat: 250, reaction: 2250, moderation: 2 });
      expect(await catalog.lastEventTime('r1')).toBe(1250.001);
      expect(await catalog.lastEventTime('absent')).toBe(0);
      expect((await catalog.eventSeqs('r1')).size).toBe(2502);
      expect([...(await catalog.removedChatIds('r1'))]).toEqual(['m10']);
    });

    it('imports a recording with its segments and events all or nothing, and deletes one with everything it has', async () => {
      const { catalog } = stores;
      const done = recording('imp', { state: 'imported', endedAt: '2026-12-01T10:00:08.000Z', durationS: 8 });
      await catalog.insertRecording(done, [segment('imp', 'original', 0), segment('imp', 'original', 1)], [{ seq: 1, t: 0.5, type: 'chat', payload: { text: 'hi' } }]);
      expect(await catalog.get('imp')).toEqual(done);
      expect(await catalog.segments('imp')).toHaveLength(2);
      // The same id again: refused as a whole, nothing of the second attempt is stored.
      await expect(catalog.insertRecording(done, [segment('imp', 'original', 2)], [{ seq: 2, t: 1, type: 'chat', payload: {} }])).rejects.toThrow();
      expect(await catalog.segments('imp')).toHaveLength(2);
      expect((await catalog.eventSeqs('imp')).size).toBe(1);
      // A bad segment (of a recording that does not exist) undoes the row and the events too.
      await expect(catalog.insertRecording(recording('bad'), [segment('bad', 'original', 0), segment('elsewhere', 'original', 0)], [{ seq: 1, t: 0, type: 'chat', payload: {} }])).rejects.toThrow();
      expect(await catalog.get('bad')).toBeUndefined();
      expect((await catalog.eventSeqs('bad')).size).toBe(0);
      expect(await catalog.delete('imp')).toBe(true);
      expect(await catalog.delete('imp')).toBe(false);
      expect(await catalog.segments('imp')).toEqual([]);
      expect((await catalog.eventSeqs('imp')).size).toBe(0);
    });
  });

  describe('storyboards', () => {
    it('create, read, list newest first, replace the body and delete', async () => {
      const { storyboards } = stores;
      const first = await storyboards.create(body('first'), provenance('first'));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const second = await storyboards.create(body('second'), provenance('second'));
      expect(first.id).toMatch(/^sb_/);
      expect(await storyboards.get(first.id)).toEqual(first);
      expect((await storyboards.list()).map((storyboard) => storyboard.id)).toEqual([second.id, first.id]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const replaced = await storyboards.replace(first.id, body('first, edited'));
      expect(replaced).toMatchObject({ id: first.id, prompt: 'first, edited', created_at: first.created_at, provenance: provenance('first') });
      expect(replaced!.updated_at > first.updated_at).toBe(true);
      expect(await storyboards.replace('sb_absent', body('x'))).toBeUndefined();
      expect(await storyboards.delete(first.id)).toBe(true);
      expect(await storyboards.delete(first.id)).toBe(false);
      expect(await storyboards.get(first.id)).toBeUndefined();
    });
  });

  describe('idempotency keys', () => {
    it('hold the first claim of a key (per scope) until it is older than the cut-off, then take a new one', async () => {
      const { idempotency } = stores;
      const longAgo = '2000-01-01T00:00:00.000Z';
      const first = await idempotency.claim({ scope: 'highlights', key: 'retry-1', bodySha256: 'aaa', jobId: 'retry-1' }, longAgo);
      expect(first).toMatchObject({ scope: 'highlights', key: 'retry-1', bodySha256: 'aaa', jobId: 'retry-1' });
      // A second claim, same body or not, gets the first one back.
      expect(await idempotency.claim({ scope: 'highlights', key: 'retry-1', bodySha256: 'bbb', jobId: 'retry-1.x' }, longAgo)).toEqual(first);
      // Two claims at once: both see one winner.
      const racing = await Promise.all(['ccc', 'ddd'].map((hash) => idempotency.claim({ scope: 'renders', key: 'race', bodySha256: hash, jobId: `race-${hash}` }, longAgo)));
      expect(racing[0]).toEqual(racing[1]);
      // The same key in another scope is another key.
      expect((await idempotency.claim({ scope: 'renders', key: 'retry-1', bodySha256: 'eee', jobId: 'r' }, longAgo)).bodySha256).toBe('eee');
      // Past the cut-off the key is forgotten and the next claim holds it.
      const later = new Date(Date.now() + 60_000).toISOString();
      expect(await idempotency.claim({ scope: 'highlights', key: 'retry-1', bodySha256: 'fff', jobId: 'retry-1.y' }, later)).toMatchObject({ bodySha256: 'fff', jobId: 'retry-1.y' });
    });
  });
});

describe('PostgreSQL specifics', () => {
  it('migrates once when four nodes open a new database at the same moment (advisory lock)', async () => {
    const url = await cluster.createDatabase('race');
    const opened = await Promise.all(Array.from({ length: 4 }, () => PostgresDatabase.open({ url, migrations: MIGRATIONS, log })));
    try {
      const shared = MIGRATIONS.filter((migration) => migration.postgres !== undefined).map((migration) => migration.id);
      expect(shared).toEqual(['presets/1-create', 'recordings/1-create', 'recordings/2-node-url', 'auth/1-tokens', 'studio/1-storyboards', 'idempotency/1-create']);
      expect(opened.flatMap((database) => database.applied)).toEqual(shared);
      const { rows } = await opened[0]!.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY applied_at, id');
      expect(rows.map((row) => row.id).sort()).toEqual([...shared].sort());
    } finally {
      await Promise.all(opened.map((database) => database.close()));
    }
  });

  it('tells the other nodes of a revoked token and a changed preset (LISTEN/NOTIFY), not the node that made the change', async () => {
    const url = await cluster.createDatabase('notify');
    const [one, two] = await Promise.all([PostgresDatabase.open({ url, migrations: MIGRATIONS, log }), PostgresDatabase.open({ url, migrations: MIGRATIONS, log })]);
    try {
      const tokensOne = new PostgresTokenStore({ database: one });
      const tokensTwo = new PostgresTokenStore({ database: two });
      const presetsOne = new PostgresPresetStore({ database: one });
      const presetsTwo = new PostgresPresetStore({ database: two });
      const revokedOnTwo: string[] = [];
      const changedOnTwo: string[] = [];
      const revokedOnOne: string[] = [];
      tokensTwo.on('revoked', (record) => revokedOnTwo.push(record.id));
      tokensOne.on('revoked', (record) => revokedOnOne.push(record.id));
      presetsTwo.on('changed', (list, change) => changedOnTwo.push(`${change.action} ${change.name}: ${list.map((preset) => preset.name).join(',')}`));
      // The listeners connect in the background: revoke probes until one gets through, then count from zero.
      await waitFor(
        'a first notification at the other node',
        async () => {
          if (revokedOnTwo.length > 0) return true;
          await tokensOne.revoke((await tokensOne.issue('operator')).id);
          return undefined;
        },
        10_000,
        300,
      );
      revokedOnOne.length = 0;
      revokedOnTwo.length = 0;
      const token = await tokensOne.issue('operator');
      await tokensOne.revoke(token.id);
      await presetsOne.save('shared look', { transforms: [] }, 'alice');
      await waitFor('the revocation and the preset change at the other node', () => (revokedOnTwo.includes(token.id) && changedOnTwo.length > 0) || undefined, 10_000);
      expect(changedOnTwo).toEqual(['created shared look: shared look']);
      expect(revokedOnOne).toEqual([token.id]);
      expect(revokedOnTwo).toEqual([token.id]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('refuses to open an unreachable server with store_unavailable naming the URL, password masked', async () => {
    const port = await freePort();
    const error = await PostgresDatabase.open({ url: `postgres://livefx:s3cret-pw@127.0.0.1:${port}/livefx`, migrations: MIGRATIONS, log }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(LivefxError);
    expect((error as LivefxError).code).toBe('store_unavailable');
    expect((error as LivefxError).message).toContain(`postgres://livefx:***@127.0.0.1:${port}/livefx`);
    expect((error as LivefxError).message).not.toContain('s3cret-pw');
  });

  it('answers store_unavailable while the server is down and works again by itself when it is back', async () => {
    const own = await PostgresServer.create();
    const database = await PostgresDatabase.open({ url: own.url(), migrations: MIGRATIONS, log });
    try {
      const presets = new PostgresPresetStore({ database });
      await presets.save('before', { transforms: [] }, 'test');
      await own.stop();
      expect(await refusal(presets.list())).toBe('store_unavailable');
      expect(database.available).toBe(false);
      await own.start();
      expect((await presets.list()).map((preset) => preset.name)).toEqual(['before']);
      expect(database.available).toBe(true);
    } finally {
      await database.close();
      await own.close();
    }
  });

  it('keeps what was stored bit for bit: seconds, sizes and JSON text', async () => {
    const url = await cluster.createDatabase('exact');
    const database = await PostgresDatabase.open({ url, migrations: MIGRATIONS, log });
    try {
      const catalog = new PostgresRecordingCatalog({ database });
      await catalog.create(recording('r1', { durationS: 0.1 + 0.2 }));
      await catalog.insertEvents('r1', [{ seq: 1, t: 1 / 3, type: 'signal', payload: { z: 1, a: [1.5, null, 'x'] } }]);
      expect((await catalog.get('r1'))!.durationS).toBe(0.1 + 0.2);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        // The payload column holds the JSON text as written (key order kept), like livefx.db.
        expect((await client.query('SELECT payload FROM recording_events')).rows[0].payload).toBe('{"z":1,"a":[1.5,null,"x"]}');
      } finally {
        await client.end();
      }
      expect((await allEvents(catalog, 'r1'))[0]!.t).toBe(1 / 3);
    } finally {
      await database.close();
    }
  });
});
