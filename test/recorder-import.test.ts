import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { ADMIN_TOKEN, startServer, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { RecordingImporter } from '../recorder/recording-importer.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import { LivefxDatabase } from '../core/database.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import { runBuiltCli, type CliRun } from './helpers/cli-run.js';

let server: RunningServer;
let dir: string;
const file = (name: string): string => path.join(dir, name);
/** The server's import limit in this test: small, so a 5 MB file is "too large". */
const LIMIT_MB = 2;

const goodEvents = {
  events: [
    { t: 3.25, type: 'chat', user: 'u1', text: 'nice <b>shot</b>' },
    { t: 1.5, type: 'reaction', user: 'u2', kind: 'like' },
    { t: 2, type: 'viewers', count: 42 },
    { t: 4, type: 'transcript-word', word: 'hello', end: 4.4, conf: 0.9 },
    { t: 0, type: 'chat', user: 'u3', text: 'first' },
  ],
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livefx-import-test-'));
  // Non-faststart MP4 (index at the end): cut in half, ffprobe cannot read it at all.
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-shortest', file('good.mp4')]);
  await runFfmpeg(['-i', file('good.mp4'), '-c', 'copy', '-movflags', '+faststart', file('faststart.mp4')]);
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=48000', '-t', '4', '-c:v', 'libvpx', '-b:v', '300k', '-deadline', 'realtime', '-c:a', 'libopus', '-shortest', file('vp8.webm')]);
  const good = await readFile(file('good.mp4'));
  await writeFile(file('truncated.mp4'), good.subarray(0, Math.floor(good.length / 2)));
  // Index at the front, data cut in half: ffprobe reads it, the copy shows it is short.
  const faststart = await readFile(file('faststart.mp4'));
  await writeFile(file('truncated-faststart.mp4'), faststart.subarray(0, Math.floor(faststart.length / 2)));
  await writeFile(file('notes.txt'), 'these are my notes, not a video\n'.repeat(100));
  await writeFile(file('huge.mp4'), randomBytes(5 * 2 ** 20));
  await writeFile(file('events.json'), JSON.stringify(goodEvents));
  server = await startServer({ LIVEFX_IMPORT_MAX_MB: String(LIMIT_MB) });
});

afterAll(async () => {
  const code = await server?.stop('SIGTERM');
  await rm(dir, { recursive: true, force: true });
  expect(code, server?.output()).toBe(0);
});

async function json(response: Response): Promise<any> {
  return response.json();
}

/** POST /v1/recordings with the given parts (files by path, or text). */
async function postImport(parts: Record<string, { path: string; name?: string } | string>): Promise<Response> {
  const form = new FormData();
  for (const [field, value] of Object.entries(parts)) {
    if (typeof value === 'string') form.append(field, value);
    else form.append(field, new Blob([await readFile(value.path)]), value.name ?? path.basename(value.path));
  }
  return fetch(`${server.url}/v1/recordings`, { method: 'POST', body: form });
}

async function events(id: string): Promise<any[]> {
  return (await (await fetch(`${server.url}/v1/recordings/${id}/events`)).text()).split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

function probe(target: string): { durationS: number; codecs: Record<string, string> } {
  const result = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', target], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as { format: { duration: string }; streams: { codec_type: string; codec_name: string }[] };
  return { durationS: Number(parsed.format.duration), codecs: Object.fromEntries(parsed.streams.map((stream) => [stream.codec_type, stream.codec_name])) };
}

async function download(url: string, name: string): Promise<{ target: string; contentType: string | null }> {
  const response = await fetch(`${server.url}${url}`);
  expect(response.status).toBe(200);
  const target = file(name);
  await writeFile(target, Buffer.from(await response.arrayBuffer()));
  return { target, contentType: response.headers.get('content-type') };
}

/** What the server holds: catalog rows and folders under recordings/ (temporary ones included). */
async function holdings(dataDir = server.dataDir): Promise<{ rows: string[]; folders: string[] }> {
  const rows = (await json(await fetch(`${server.url}/v1/recordings`))).recordings.map((recording: any) => recording.id).sort();
  const folders = (await readdir(path.join(dataDir, 'recordings')).catch(() => [] as string[])).sort();
  return { rows, folders };
}

function livefx(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runBuiltCli(args, { cwd: dir, env, timeoutMs: 30_000 });
}

describe('POST /v1/recordings: importing outside recordings', () => {
  let mp4Id = '';

  it('imports an MP4 with audio and its events as a recording in state "imported"', async () => {
    const response = await postImport({ title: 'my VOD', media: { path: file('good.mp4') }, events: { path: file('events.json') } });
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    mp4Id = body.id;
    expect(body).toMatchObject({
      streamId: null,
      title: 'my VOD',
      state: 'imported',
      media: { original: `/v1/recordings/${mp4Id}/media/original`, transformed: `/v1/recordings/${mp4Id}/media/transformed` },
      counts: { chat: 2, reactions: 1, transcriptWords: 1 },
    });
    expect(body.durationS).toBeGreaterThan(5.8);
    expect(body.durationS).toBeLessThan(6.3);
    expect(await json(await fetch(`${server.url}/v1/recordings/${mp4Id}`))).toEqual(body);
    const manifest = JSON.parse(await readFile(path.join(server.dataDir, 'recordings', mp4Id, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ id: mp4Id, state: 'imported', streamId: null, import: { originalAndTransformedAreTheSameFile: true, videoCodec: 'h264', audioCodec: 'aac' } });
  });

  it('gives the events back in time order with the times of the file', async () => {
    const all = await events(mp4Id);
    expect(all.map((event) => [event.t, event.type])).toEqual([
      [0, 'chat'],
      [1.5, 'reaction'],
      [2, 'viewers'],
      [3.25, 'chat'],
      [4, 'transcript-word'],
    ]);
    expect(all[3]).toEqual({ t: 3.25, type: 'chat', user: 'u1', text: 'nice <b>shot</b>' });
    expect(all[4]).toEqual({ t: 4, type: 'transcript-word', word: 'hello', end: 4.4, conf: 0.9 });
    const reactions = (await (await fetch(`${server.url}/v1/recordings/${mp4Id}/events?type=reaction&from=1&to=2`)).text()).trim().split('\n');
    expect(reactions.map((line) => JSON.parse(line))).toEqual([{ t: 1.5, type: 'reaction', user: 'u2', kind: 'like' }]);
  });

  it('serves the imported media as original and transformed (stream copy, plays, with ranges)', async () => {
    for (const kind of ['original', 'transformed']) {
      const { target, contentType } = await download(`/v1/recordings/${mp4Id}/media/${kind}`, `${kind}-download.mp4`);
      expect(contentType).toBe('video/mp4');
      const probed = probe(target);
      expect(probed.codecs).toEqual({ video: 'h264', audio: 'aac' });
      expect(probed.durationS).toBeGreaterThan(5.8);
      expect(probed.durationS).toBeLessThan(6.3);
    }
    const ranged = await fetch(`${server.url}/v1/recordings/${mp4Id}/media/original`, { headers: { range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect((await ranged.arrayBuffer()).byteLength).toBe(100);
  });

  it('imports a WebM (VP8 + Opus) with events given as a text field, serving WebM', async () => {
    const response = await postImport({ media: { path: file('vp8.webm') }, events: JSON.stringify({ events: [{ t: 1, type: 'chat', user: 'a', text: 'b' }] }) });
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ title: 'vp8.webm', state: 'imported', counts: { chat: 1, reactions: 0, transcriptWords: 0 } });
    for (const kind of ['original', 'transformed']) {
      const { target, contentType } = await download(`/v1/recordings/${body.id}/media/${kind}`, `vp8-${kind}.webm`);
      expect(contentType).toBe('video/webm');
      expect(probe(target).codecs).toEqual({ video: 'vp8', audio: 'opus' });
    }
  });

  const refusals: [string, () => Promise<Response>, number, string, RegExp][] = [
    ['a text file', () => postImport({ media: { path: file('notes.txt') } }), 422, 'invalid_media', /notes\.txt is not a readable media file/],
    ['an MP4 cut in half', () => postImport({ media: { path: file('truncated.mp4') } }), 422, 'invalid_media', /truncated\.mp4 is not a readable media file: .*moov atom not found/],
    ['a faststart MP4 cut in half', () => postImport({ media: { path: file('truncated-faststart.mp4') } }), 422, 'invalid_media', /truncated/],
    ['events that are not JSON', () => postImport({ media: { path: file('good.mp4') }, events: '{"events": [' }), 400, 'invalid_events', /the events file is not JSON/],
    [
      'an event with a bad field',
      () => postImport({ media: { path: file('good.mp4') }, events: JSON.stringify({ events: [{ t: 1, type: 'chat', user: 'u', text: 'x' }, { t: 'soon', type: 'reaction', user: 'u', kind: 'like' }] }) }),
      400,
      'invalid_events',
      /^events\.1\.t: /,
    ],
    ['an event of an unknown type', () => postImport({ media: { path: file('good.mp4') }, events: JSON.stringify({ events: [{ t: 1, type: 'tip', user: 'u' }] }) }), 400, 'invalid_events', /^events\.0\.type: /],
    [
      'an event after the end of the media',
      () => postImport({ media: { path: file('good.mp4') }, events: JSON.stringify({ events: [{ t: 1, type: 'viewers', count: 3 }, { t: 60, type: 'viewers', count: 4 }] }) }),
      400,
      'invalid_events',
      /^events\.1\.t: 60 s is after the end of the media/,
    ],
    ['a file over LIVEFX_IMPORT_MAX_MB', () => postImport({ media: { path: file('huge.mp4') } }), 413, 'file_too_large', new RegExp(`larger than the ${LIMIT_MB} MB allowed`)],
    ['a form without the media field', () => postImport({ events: { path: file('events.json') } }), 400, 'missing_media', /put the video in the field "media"/],
    ['a form with the video in another field', () => postImport({ video: { path: file('good.mp4') } }), 400, 'invalid_request', /unexpected file field "video"/],
  ];

  it.each(refusals)('refuses %s with the right error and leaves nothing half-imported', async (_what, send, status, code, message) => {
    const before = await holdings();
    const response = await send();
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(status);
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(message);
    expect(await holdings()).toEqual(before);
  });

  it('refuses a request that is not multipart', async () => {
    const response = await fetch(`${server.url}/v1/recordings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(400);
    expect((await json(response)).error.message).toMatch(/multipart\/form-data/);
  });

  it('deletes an imported recording with its files', async () => {
    const response = await postImport({ media: { path: file('good.mp4') } });
    const { id } = await json(response);
    expect(existsSync(path.join(server.dataDir, 'recordings', id))).toBe(true);
    expect((await fetch(`${server.url}/v1/recordings/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect(existsSync(path.join(server.dataDir, 'recordings', id))).toBe(false);
  });
});

describe('RecordingImporter', () => {
  it('refuses what is not a video container, or an MP4 whose boxes do not add up, before starting any ffprobe or ffmpeg', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-import-cheap-'));
    const database = LivefxDatabase.open(dataDir, MIGRATIONS);
    try {
      // Programs that do not exist: an import that started one would fail with "could not run", not invalid_media.
      const importer = new RecordingImporter({ catalog: new SqliteRecordingCatalog({ db: database.db }), recordingsDir: path.join(dataDir, 'recordings'), ffmpeg: '/nonexistent/ffmpeg', ffprobe: '/nonexistent/ffprobe' });
      const good = await readFile(file('good.mp4'));
      const png = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=48x32', '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', 'pipe:1']).stdout;
      const cases: [string, Buffer, RegExp][] = [
        ['picture.png', png, /picture\.png is not a readable media file: it is a PNG image, not a video/],
        ['noise.mp4', randomBytes(4096), /noise\.mp4 is not a readable media file: its first bytes are not those of a video container livefx imports/],
        ['empty.mp4', Buffer.alloc(0), /empty\.mp4 is not a readable media file: the file is empty/],
        ['cut.mp4', good.subarray(0, Math.floor(good.length / 2)), /cut\.mp4 is not a readable media file: moov atom not found: the file ends inside its mdat box/],
        ['shifted.mp4', Buffer.concat([good.subarray(0, good.readUInt32BE(0)), Buffer.alloc(37, 0xff), good.subarray(good.readUInt32BE(0))]), /shifted\.mp4 is not a readable media file: it is damaged: at byte \d+ there is no MP4 box/],
      ];
      for (const [name, bytes, message] of cases) {
        await writeFile(file(name), bytes);
        const refused = await importer.import({ media: file(name) }).then(
          () => undefined,
          (error: unknown) => error as { code?: string; message: string },
        );
        expect(refused?.code, `${name}: ${refused?.message}`).toBe('invalid_media');
        expect(refused!.message).toMatch(message);
      }
      expect(await readdir(path.join(dataDir, 'recordings')).catch(() => [])).toEqual([]);
    } finally {
      database.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('removes the renamed folder when the catalog transaction fails (no folder, no row)', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-import-atomic-'));
    try {
      LivefxDatabase.open(dataDir, MIGRATIONS).close();
      // A read-only connection: the files are complete, then the INSERTs fail.
      const db = new BetterSqlite3(path.join(dataDir, 'livefx.db'), { readonly: true });
      try {
        const importer = new RecordingImporter({ catalog: new SqliteRecordingCatalog({ db }), recordingsDir: path.join(dataDir, 'recordings'), ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' });
        await expect(importer.import({ media: file('good.mp4'), events: goodEvents })).rejects.toThrow(/readonly/i);
        expect(await readdir(path.join(dataDir, 'recordings'))).toEqual([]);
        expect(db.prepare('SELECT COUNT(*) AS n FROM recordings').get()).toEqual({ n: 0 });
      } finally {
        db.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('livefx import', () => {
  it('uploads to the server at LIVEFX_URL and prints the new id', async () => {
    const run = await livefx(['import', file('good.mp4'), '--events', file('events.json'), '--title', 'from the CLI'], { LIVEFX_URL: server.url, LIVEFX_TOKEN: ADMIN_TOKEN });
    expect(run.code, run.stderr).toBe(0);
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    const recording = await json(await fetch(`${server.url}/v1/recordings/${id}`));
    expect(recording).toMatchObject({ id, title: 'from the CLI', state: 'imported', counts: { chat: 2, reactions: 1, transcriptWords: 1 } });
  });

  it('reports the server refusing a file (message, exit 1)', async () => {
    const before = await holdings();
    const run = await livefx(['import', file('notes.txt')], { LIVEFX_URL: server.url, LIVEFX_TOKEN: ADMIN_TOKEN });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^livefx import: the server refused the import \(422 invalid_media\): notes\.txt is not a readable media file/);
    expect(await holdings()).toEqual(before);
  });

  it('shows upload progress for a large file and reports the server\'s size limit', async () => {
    const before = await holdings();
    const run = await livefx(['import', file('huge.mp4')], { LIVEFX_URL: server.url, LIVEFX_TOKEN: ADMIN_TOKEN });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/uploading huge\.mp4: 5\.0 \/ 5\.0 MB \(100%\)/);
    expect(run.stderr).toMatch(/livefx import: the server refused the import \(413 file_too_large\): the media file is larger than the 2 MB allowed/);
    expect(await holdings()).toEqual(before);
  });

  it('imports straight into LIVEFX_DATA_DIR without a server, with --json', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-import-cli-'));
    try {
      const env = { LIVEFX_DATA_DIR: dataDir, LIVEFX_URL: '' };
      const run = await livefx(['import', file('vp8.webm'), '--events', file('events.json'), '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      const view = JSON.parse(run.stdout);
      expect(view).toMatchObject({ streamId: null, title: 'vp8.webm', state: 'imported', counts: { chat: 2, reactions: 1, transcriptWords: 1 } });
      const db = new BetterSqlite3(path.join(dataDir, 'livefx.db'), { readonly: true });
      try {
        expect(db.prepare('SELECT state, title FROM recordings WHERE id = ?').get(view.id)).toEqual({ state: 'imported', title: 'vp8.webm' });
        expect(db.prepare('SELECT COUNT(*) AS n FROM recording_events WHERE recording_id = ?').get(view.id)).toEqual({ n: 5 });
      } finally {
        db.close();
      }
      expect(probe(path.join(dataDir, 'recordings', view.id, 'original.webm')).codecs).toEqual({ video: 'vp8', audio: 'opus' });

      const bad = await livefx(['import', file('good.mp4'), '--events', file('notes.txt')], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^livefx import: the events file is not JSON/);
      const cut = await livefx(['import', file('truncated.mp4')], env);
      expect(cut.code).toBe(1);
      expect(cut.stderr).toMatch(/truncated\.mp4 is not a readable media file/);
      expect(await readdir(path.join(dataDir, 'recordings'))).toEqual([view.id]);

      const tooBig = await livefx(['import', file('huge.mp4')], { ...env, LIVEFX_IMPORT_MAX_MB: '2' });
      expect(tooBig.code).toBe(1);
      expect(tooBig.stderr).toMatch(/huge\.mp4 is 5 MB, larger than the 2 MB allowed \(LIVEFX_IMPORT_MAX_MB\)/);
      expect(await readdir(path.join(dataDir, 'recordings'))).toEqual([view.id]);

      const usage = await livefx(['import'], env);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/missing <video>[\s\S]*usage: livefx import <video>/);
      const missing = await livefx(['import', file('nothing-here.mp4')], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/nothing-here\.mp4 not found/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
