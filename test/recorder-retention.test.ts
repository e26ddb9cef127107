import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordingRow } from '../recorder/recording-catalog.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import { RecordingRetention, type RetentionOptions } from '../recorder/retention.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { LivefxDatabase } from '../core/database.js';
import { MIGRATIONS } from '../server/storage/migrations.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const MB = 2 ** 20;
/** The fake "now" of every test: recordings are dated relative to it. */
const NOW = Date.parse('2026-06-15T12:00:00Z');

let dataDir: string;
let database: LivefxDatabase;
let catalog: SqliteRecordingCatalog;
let logLines: any[];

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-retention-'));
  database = LivefxDatabase.open(dataDir, MIGRATIONS);
  catalog = new SqliteRecordingCatalog({ db: database.db });
  logLines = [];
});

afterEach(async () => {
  database.close();
  await rm(dataDir, { recursive: true, force: true });
});

const recordingsDir = (): string => path.join(dataDir, 'recordings');

/** A recording that ended `daysAgo` days before NOW, with `mb` MB of media in its folder. */
async function addRecording(id: string, daysAgo: number, mb: number, state: RecordingRow['state'] = 'complete'): Promise<void> {
  const endedMs = NOW - daysAgo * DAY_MS;
  await catalog.create({
    id,
    streamId: state === 'imported' ? null : 'stream-1',
    title: `recording ${id}`,
    state,
    startedAt: new Date(endedMs - 60_000).toISOString(),
    endedAt: state === 'recording' ? null : new Date(endedMs).toISOString(),
    durationS: 60,
  });
  const dir = path.join(recordingsDir(), id, 'original');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, '000000.mkv'), Buffer.alloc(mb * MB));
}

function retention(options: Partial<RetentionOptions>): RecordingRetention {
  const log = pino({ level: 'info' }, new Writable({ write: (chunk, _encoding, done) => (logLines.push(JSON.parse(String(chunk))), done()) }));
  return new RecordingRetention({ catalog, recordingsDir: recordingsDir(), log, now: () => NOW, ...options });
}

const remaining = async (): Promise<string[]> => (await catalog.list()).map((recording) => recording.id).sort();

describe('retention policy', () => {
  it('is off by default: nothing is deleted', async () => {
    await addRecording('ancient', 3650, 1);
    const policy = retention({});
    expect(policy.enabled).toBe(false);
    expect(await policy.start()).toEqual([]);
    expect(await remaining()).toEqual(['ancient']);
    policy.close();
  });

  it('deletes finished recordings older than LIVEFX_RETENTION_DAYS, never one in progress, logging each', async () => {
    await addRecording('old-complete', 10, 1, 'complete');
    await addRecording('old-imported', 8, 1, 'imported');
    await addRecording('old-recovered', 7.5, 1, 'recovered');
    await addRecording('recent', 3, 1, 'complete');
    await addRecording('in-progress', 30, 1, 'recording');
    const policy = retention({ maxAgeDays: 7 });
    const deleted = await policy.run();
    expect(deleted.map((entry) => [entry.recordingId, entry.reason])).toEqual([
      ['old-complete', 'age'],
      ['old-imported', 'age'],
      ['old-recovered', 'age'],
    ]);
    expect(await remaining()).toEqual(['in-progress', 'recent']);
    for (const id of ['old-complete', 'old-imported', 'old-recovered']) expect(existsSync(path.join(recordingsDir(), id))).toBe(false);
    expect(existsSync(path.join(recordingsDir(), 'in-progress'))).toBe(true);
    const logged = logLines.filter((line) => /deleted by retention/.test(line.msg));
    expect(logged.map((line) => line.recordingId)).toEqual(['old-complete', 'old-imported', 'old-recovered']);
    expect(logged[0]).toMatchObject({ reason: 'age', maxAgeDays: 7, bytes: MB, title: 'recording old-complete' });
    expect((await catalog.events('old-complete')[Symbol.asyncIterator]().next()).done).toBe(true);
  });

  it('keeps the recordings under LIVEFX_RETENTION_MAX_GB by deleting the oldest finished ones first', async () => {
    await addRecording('a', 40, 1, 'recording');
    await addRecording('b', 30, 1);
    await addRecording('c', 20, 1, 'imported');
    await addRecording('d', 10, 1);
    await addRecording('e', 1, 1);
    // 5 MB on disk, 2.5 MB allowed: "a" is still being written, so b, c and d go.
    const deleted = await retention({ maxBytes: 2.5 * MB }).run();
    expect(deleted.map((entry) => [entry.recordingId, entry.reason])).toEqual([
      ['b', 'size'],
      ['c', 'size'],
      ['d', 'size'],
    ]);
    expect(await remaining()).toEqual(['a', 'e']);
    expect(logLines.find((line) => line.recordingId === 'd')).toMatchObject({ reason: 'size', totalBytesAfter: 2 * MB });
  });

  it('never deletes a session the recorder is writing, whatever its row says', async () => {
    await addRecording('live-one', 30, 1, 'complete');
    await addRecording('other', 20, 1, 'complete');
    const deleted = await retention({ maxAgeDays: 1, isRecording: (id) => id === 'live-one' }).run();
    expect(deleted.map((entry) => entry.recordingId)).toEqual(['other']);
    expect(await remaining()).toEqual(['live-one']);
  });

  it('counts a hard-linked file once (an import serves one file as original and transformed)', async () => {
    await addRecording('imported', 5, 2, 'imported');
    await link(path.join(recordingsDir(), 'imported', 'original', '000000.mkv'), path.join(recordingsDir(), 'imported', 'transformed.mp4'));
    await addRecording('newer', 1, 1);
    expect(await retention({ maxBytes: 3 * MB }).run()).toEqual([]);
    const deleted = await retention({ maxBytes: 2.5 * MB }).run();
    expect(deleted).toMatchObject([{ recordingId: 'imported', bytes: 2 * MB }]);
  });

  it('runs at start and again on its interval', async () => {
    await addRecording('first', 9, 1);
    const policy = retention({ maxAgeDays: 7, intervalMs: 100 });
    expect((await policy.start()).map((entry) => entry.recordingId)).toEqual(['first']);
    await addRecording('second', 8, 1);
    for (let i = 0; i < 50 && (await remaining()).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await remaining()).toEqual([]);
    policy.close();
    policy.close();
    await addRecording('third', 8, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await remaining()).toEqual(['third']);
  });
});

describe('retention, disk and import settings', () => {
  it('have defaults: retention off, 1024 MB floor, 8192 MB imports', () => {
    const config = loadConfig({});
    expect(config.LIVEFX_RETENTION_DAYS).toBeUndefined();
    expect(config.LIVEFX_RETENTION_MAX_GB).toBeUndefined();
    expect(config.LIVEFX_RECORD_MIN_FREE_MB).toBe(1024);
    expect(config.LIVEFX_IMPORT_MAX_MB).toBe(8192);
    expect(loadConfig({ LIVEFX_RETENTION_DAYS: '', LIVEFX_RETENTION_MAX_GB: '1.5' })).toMatchObject({ LIVEFX_RETENTION_MAX_GB: 1.5 });
  });

  it('refuse bad values naming the variable', () => {
    expect(() => loadConfig({ LIVEFX_RETENTION_DAYS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ LIVEFX_RETENTION_DAYS: '0' })).toThrow(/LIVEFX_RETENTION_DAYS: must be a positive number of days/);
    expect(() => loadConfig({ LIVEFX_RETENTION_MAX_GB: 'lots' })).toThrow(/LIVEFX_RETENTION_MAX_GB: /);
    expect(() => loadConfig({ LIVEFX_RECORD_MIN_FREE_MB: '-5' })).toThrow(/LIVEFX_RECORD_MIN_FREE_MB: must be 0 \(no floor\) or more MB/);
    expect(() => loadConfig({ LIVEFX_IMPORT_MAX_MB: '0' })).toThrow(/LIVEFX_IMPORT_MAX_MB: must be a positive number of MB/);
  });
});
