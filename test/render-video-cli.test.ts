import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LivefxServer } from '../server/livefx-server.js';
import type { StoryboardBody } from '../studio/storyboard.js';
import { ADMIN_TOKEN } from './helpers/livefx-process.js';
import { runBuiltCli } from './helpers/cli-run.js';
import { closeStudio, importRecording, makeStudioSource, MemoryStoryboardStore, startStudioServer, studioServer, testProvenance } from './helpers/studio-fixture.js';

let scratch: string;
let source: { file: string; events: { events: unknown[] } };
let server: LivefxServer;
let url: string;
let recordingId: string;
const store = new MemoryStoryboardStore();

function twoShots(recording: string): StoryboardBody {
  return {
    prompt: 'a short cli render',
    style: 'vivid',
    aspect: '1:1',
    duration_s: 5,
    seed: 11,
    captions: true,
    shots: [
      { index: 0, start: 0, duration: 2, kind: 'title', text: 'From the CLI', reasons: [] },
      { index: 1, start: 2, duration: 2.5, kind: 'clip', source: { recording_id: recording, in: 12, out: 14.5 }, camera: 'pan-left', transition: { name: 'fade', duration: 0.5 }, reasons: [] },
    ],
    music: { track: 'calm', gain_db: -16, duck: true },
  };
}

function probe(file: string): { width: number; height: number; duration: number } {
  const out = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const parsed = JSON.parse(out.stdout);
  return { width: parsed.streams[0].width, height: parsed.streams[0].height, duration: Number(parsed.format.duration) };
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-render-video-cli-'));
  source = await makeStudioSource(scratch);
  ({ server, url } = await startStudioServer(path.join(scratch, 'served'), { LIVEFX_STUDIO_MIN_FREE_MB: '0' }, store));
  recordingId = await importRecording(server, source.file, source.events);
}, 120_000);

afterAll(() => closeStudio(server, scratch));

describe('livefx render-video', () => {
  it('renders a storyboard on the server named by LIVEFX_URL with a progress bar and saves it with -o', async () => {
    const id = (await store.create(twoShots(recordingId), testProvenance('cli'))).id;
    const out = path.join(scratch, 'from-server.mp4');
    const run = await runBuiltCli(['render-video', id, '--quality', 'preview', '-o', out], { cwd: scratch, env: { LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN, LIVEFX_DATA_DIR: path.join(scratch, 'unused') }, timeoutMs: 180_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/render-video +100%.*done/);
    expect(run.stdout).toContain(out);
    const info = probe(out);
    expect([info.width, info.height]).toEqual([640, 640]);
    expect(Math.abs(info.duration - 4.5)).toBeLessThanOrEqual(0.1);
    // The signed manifest came with the download: the copy verifies against the server's key.
    const verified = await runBuiltCli(['verify', out], { cwd: scratch, env: { LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN }, timeoutMs: 30_000 });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^verified: signed by key /);
  });

  it('names an unknown storyboard and exits 1', async () => {
    const run = await runBuiltCli(['render-video', 'no-such-storyboard'], { cwd: scratch, env: { LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN }, timeoutMs: 60_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the server refused the render \(404\): no storyboard with id "no-such-storyboard"/);
  });

  it('refuses a bad --quality and a --merge without "=" with exit 2', async () => {
    const quality = await runBuiltCli(['render-video', 'x', '--quality', 'ultra'], { cwd: scratch, env: { LIVEFX_URL: '' } });
    expect(quality.code).toBe(2);
    expect(quality.stderr).toMatch(/--quality is preview or high, not "ultra"/);
    const merge = await runBuiltCli(['render-video', 'x', '--merge', 'title'], { cwd: scratch, env: { LIVEFX_URL: '' } });
    expect(merge.code).toBe(2);
    expect(merge.stderr).toMatch(/--merge needs key=value, not "title"/);
  });

  it('renders a storyboard file on LIVEFX_DATA_DIR directly', async () => {
    const dataDir = path.join(scratch, 'local');
    const local = studioServer(dataDir);
    await local.start();
    const localRecording = (await local.recorder.importer.import({ media: source.file, events: source.events as any })).id;
    await local.close();
    const file = path.join(scratch, 'board.json');
    await writeFile(file, JSON.stringify(twoShots(localRecording)));
    await mkdir(path.join(scratch, 'outputs'), { recursive: true });
    const out = path.join(scratch, 'outputs', 'local.mp4');
    const run = await runBuiltCli(['render-video', file, '-o', out, '--json'], { cwd: scratch, env: { LIVEFX_URL: '', LIVEFX_DATA_DIR: dataDir, LIVEFX_STUDIO_MIN_FREE_MB: '0' }, timeoutMs: 180_000 });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(existsSync(result.file)).toBe(true);
    expect(result.file.startsWith(path.join(dataDir, 'studio', 'renders'))).toBe(true);
    expect(result.shots).toHaveLength(2);
    expect(probe(out).width).toBe(640);
    const verified = await runBuiltCli(['verify', out], { cwd: scratch, env: { LIVEFX_URL: '', LIVEFX_DATA_DIR: dataDir }, timeoutMs: 30_000 });
    expect(verified.code, verified.stderr).toBe(0);
  });
});
