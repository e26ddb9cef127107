import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, adminFetch } from './helpers/livefx-process.js';
import { LivefxDatabase } from '../core/database.js';
import type { LivefxServer } from '../server/livefx-server.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import { SqliteStoryboardStore } from '../studio/sqlite-storyboard-store.js';
import { runBuiltCli } from './helpers/cli-run.js';
import { highlightShowEvents } from './helpers/highlight-fixture.js';
import { startShowServer, type ShowServer } from './helpers/show-server.js';

let opened: ShowServer | undefined;
let scratch: string;
let server: LivefxServer;
let url: string;
let showFile: string;
let eventsFile: string;
let recordingId: string;

const livefx = (args: string[], env: Record<string, string>) => runBuiltCli(args, { cwd: scratch, env: { LIVEFX_LOG_LEVEL: 'silent', ...env }, timeoutMs: 120_000 });
const lastLine = (text: string): string => text.trim().split('\n').pop()!;

beforeAll(async () => {
  opened = await startShowServer('storyboard-cli', 'server-data');
  ({ scratch, showFile, server, url } = opened);
  eventsFile = path.join(scratch, 'events.json');
  await writeFile(eventsFile, JSON.stringify(highlightShowEvents()));
  recordingId = (await server.recorder.importer.import({ media: showFile, events: highlightShowEvents(), title: 'show' })).id;
}, 120_000);

afterAll(() => opened?.close());

describe('livefx storyboard against a server (LIVEFX_URL)', () => {
  it('prints each shot with its reasons and the storyboard id last; the server has it', async () => {
    const run = await livefx(['storyboard', '20s recap of the giveaway', '--recording', recordingId, '--shots', '3'], { LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN });
    expect(run.code, run.stderr).toBe(0);
    const id = lastLine(run.stdout);
    expect(id).toMatch(/^sb_[0-9a-f-]{36}$/);
    expect(run.stdout).toContain("transcript: 'giveaway'");
    expect(run.stdout).toContain('20 s, 16:9, clean look');
    const stored = await adminFetch(`${url}/v1/video/storyboards/${id}`);
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as { shots: unknown[] }).shots).toHaveLength(3);
  }, 120_000);

  it('prints the storyboard as JSON with --json, and says why the server refused', async () => {
    const run = await livefx(['storyboard', 'the goal, vertical', '--recording', recordingId, '--json', '--seed', '5'], { LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN });
    expect(run.code, run.stderr).toBe(0);
    const storyboard = JSON.parse(run.stdout);
    expect(storyboard).toMatchObject({ aspect: '9:16', seed: 5, duration_s: 30 });
    const refused = await livefx(['storyboard', 'the goal', '--recording', 'nope'], { LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('404 recording_not_found');
    const noToken = await livefx(['storyboard', 'the goal'], { LIVEFX_URL: url, LIVEFX_TOKEN: '' });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('set LIVEFX_TOKEN');
  }, 120_000);
});

describe('livefx storyboard on LIVEFX_DATA_DIR', () => {
  it('plans from the recordings in the data directory and stores the storyboard there', async () => {
    const dataDir = path.join(scratch, 'local-data');
    const imported = await livefx(['import', showFile, '--events', eventsFile], { LIVEFX_DATA_DIR: dataDir, LIVEFX_URL: '' });
    expect(imported.code, imported.stderr).toBe(0);
    const localRecording = lastLine(imported.stdout);
    const json = await livefx(['storyboard', '15s of the giveaway with a title card, square', '--json'], { LIVEFX_DATA_DIR: dataDir, LIVEFX_URL: '' });
    expect(json.code, json.stderr).toBe(0);
    const storyboard = JSON.parse(json.stdout);
    expect(storyboard).toMatchObject({ aspect: '1:1', duration_s: 15 });
    expect(storyboard.shots[0].kind).toBe('title');
    expect(storyboard.shots.filter((shot: any) => shot.kind === 'clip').every((shot: any) => shot.source.recording_id === localRecording)).toBe(true);
    const plain = await livefx(['storyboard', 'the goal'], { LIVEFX_DATA_DIR: dataDir, LIVEFX_URL: '' });
    expect(plain.code, plain.stderr).toBe(0);
    const database = LivefxDatabase.open(dataDir, MIGRATIONS);
    try {
      const store = new SqliteStoryboardStore(database.db);
      expect((await store.get(lastLine(plain.stdout)))?.prompt).toBe('the goal');
      expect((await store.list()).map((stored) => stored.id)).toContain(storyboard.id);
    } finally {
      database.close();
    }
    const unknown = await livefx(['storyboard', 'the goal', '--recording', 'nope'], { LIVEFX_DATA_DIR: dataDir, LIVEFX_URL: '' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no recording with id "nope"');
  }, 180_000);

  it.each([
    ['--shots 0', ['storyboard', 'x', '--shots', '0'], '--shots'],
    ['--shots 21', ['storyboard', 'x', '--shots', '21'], '--shots'],
    ['--aspect 4:3', ['storyboard', 'x', '--aspect', '4:3'], '--aspect'],
    ['an empty prompt', ['storyboard', ''], '<prompt>: must not be empty'],
    ['a 2001-character prompt', ['storyboard', 'x'.repeat(2001)], 'at most 2000 characters'],
    ['--seed abc', ['storyboard', 'x', '--seed', 'abc'], '--seed needs a number'],
  ])('%s is a usage error (exit 2) naming the problem', async (_label, args, named) => {
    const run = await livefx(args, { LIVEFX_DATA_DIR: path.join(scratch, 'unused'), LIVEFX_URL: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(named);
    expect(run.stderr).toContain('usage: livefx storyboard');
  });
});
