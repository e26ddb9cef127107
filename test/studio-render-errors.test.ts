import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { openLocalStudio } from '../cli/local-studio.js';
import { loadConfig } from '../core/config.js';
import { SqliteJobQueue } from '../core/jobs/sqlite-job-queue.js';
import { RenderService } from '../studio/render-service.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LivefxServer } from '../server/livefx-server.js';
import { describeRenderError, renderErrorView } from '../studio/render-error.js';
import type { StoryboardBody } from '../studio/storyboard.js';
import { runBuiltCli } from './helpers/cli-run.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { ADMIN_TOKEN, adminFetch as fetch, waitFor } from './helpers/livefx-process.js';
import { closeStudio, hangingProgram, importRecording, MemoryStoryboardStore, startStudioServer, storyboardBody, testProvenance, processesOf } from './helpers/studio-fixture.js';

let scratch: string;
let dataDir: string;
let server: LivefxServer | undefined;
let url: string;
let recordingId: string;
let failingFfmpeg: string;
let media: string;
/** ffprobe, except that a run whose arguments contain the text in this file hangs (named so it can be found). */
let probeHangFile: string;
const store = new MemoryStoryboardStore();

/** Two clips with a fade between them: the transition step runs ffmpeg's xfade, which the failing ffmpeg refuses. */
function twoClips(recording: string): StoryboardBody {
  return storyboardBody({
    prompt: 'a render that fails at its transition',
    style: 'clean',
    seed: 5,
    shots: [
      { index: 0, start: 0, duration: 2.5, kind: 'clip', source: { recording_id: recording, in: 0, out: 2.5 }, reasons: [] },
      { index: 1, start: 2.5, duration: 2.5, kind: 'clip', source: { recording_id: recording, in: 3, out: 5.5 }, transition: { name: 'fade', duration: 0.5 }, reasons: [] },
    ],
  });
}

async function failedRender(id: string): Promise<any> {
  return waitFor(`render ${id} settled`, async () => {
    const view = (await (await fetch(`${url}/v1/video/renders/${id}`)).json()) as any;
    return ['done', 'failed', 'cancelled'].includes(view.status) ? view : undefined;
  }, 120_000, 100);
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-render-errors-'));
  dataDir = path.join(scratch, 'data');
  failingFfmpeg = path.join(scratch, 'ffmpeg-failing');
  // A real ffmpeg, except that a transition (xfade) fails the way a broken filter would.
  await writeFile(failingFfmpeg, '#!/bin/bash\ncase "$*" in *xfade*) echo "xfade: simulated filter failure" >&2; exit 1;; esac\nexec ffmpeg "$@"\n');
  await chmod(failingFfmpeg, 0o755);
  probeHangFile = path.join(scratch, 'probe-hang-pattern');
  const hangingFfprobe = await hangingProgram(scratch, 'ffprobe', probeHangFile);
  media = path.join(scratch, 'pattern.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=30:d=8', '-f', 'lavfi', '-i', 'sine=f=330:sample_rate=48000:d=8', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', media]);
  ({ server, url } = await startStudioServer(dataDir, { LIVEFX_FFMPEG: failingFfmpeg, LIVEFX_FFPROBE: hangingFfprobe, LIVEFX_STUDIO_MIN_FREE_MB: '0' }, store));
  recordingId = await importRecording(server, media);
}, 120_000);

afterAll(() => closeStudio(server, scratch));

describe('render failures', () => {
  it('reads a stored failure as { code, message }, and failures stored as plain text before codes were kept', () => {
    expect(renderErrorView('[disk_floor] render stopped: 3 MB free')).toEqual({ code: 'disk_floor', message: 'render stopped: 3 MB free' });
    expect(renderErrorView('render stage "shots" stopped: ffmpeg made no progress')).toEqual({ code: 'render_failed', message: 'render stage "shots" stopped: ffmpeg made no progress' });
    expect(renderErrorView('render stopped: 3 MB free on the data disk, below the floor of 512 MB (LIVEFX_STUDIO_MIN_FREE_MB); nothing was written')?.code).toBe('disk_floor');
    expect(renderErrorView('[not_a_code] text')).toEqual({ code: 'render_failed', message: '[not_a_code] text' });
    expect(renderErrorView(null)).toBeUndefined();
    expect(describeRenderError({ code: 'render_failed', message: 'xfade failed' })).toBe('xfade failed (render_failed)');
    expect(describeRenderError('an old server says this')).toBe('an old server says this (render_failed)');
  });

  it('GET /v1/video/renders/:id gives a failed render its error as { code, message }, and so does the list', async () => {
    const storyboard = await store.create(twoClips(recordingId), testProvenance('fails'));
    const response = await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ storyboard_id: storyboard.id }) });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const view = await failedRender(id);
    expect(view.status).toBe('failed');
    expect(view.error).toEqual({ code: 'render_failed', message: expect.stringContaining('simulated filter failure') });
    expect(view.error.message).not.toMatch(/^\[/);
    const listed = ((await (await fetch(`${url}/v1/video/renders`)).json()) as any).renders.find((entry: any) => entry.id === id);
    expect(listed.error).toEqual(view.error);
    expect((await fetch(`${url}/v1/video/renders/${id}/files/video.mp4`)).status).toBe(404);
  }, 180_000);

  it('livefx render-video prints the failure with its code and exits 1', async () => {
    const storyboard = await store.create(twoClips(recordingId), testProvenance('fails from the cli'));
    const run = await runBuiltCli(['render-video', storyboard.id, '--quality', 'preview'], { cwd: scratch, env: { LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN, LIVEFX_DATA_DIR: path.join(scratch, 'unused') }, timeoutMs: 180_000 });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/render \S+ failed: .*simulated filter failure.* \(render_failed\)/);
    expect(run.stderr).not.toContain('[object Object]');
  }, 200_000);

  it('cancels a render in its resolving stage (the source probe hangs): no probe left, nothing served or left behind', async () => {
    await writeFile(probeHangFile, 'stream=codec_type,width,height');
    try {
      // A recording of its own: the render service remembers what it probed, so a recording rendered before would not be probed again.
      const unprobed = (await server!.recorder.importer.import({ media, events: { events: [] } as any })).id;
      const storyboard = await store.create({ ...twoClips(unprobed), seed: 77 }, testProvenance('cancelled while resolving'));
      const response = await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ storyboard_id: storyboard.id }) });
      const { id } = (await response.json()) as { id: string };
      await waitFor('the probe hanging', async () => {
        const view = (await (await fetch(`${url}/v1/video/renders/${id}`)).json()) as any;
        if (view.status !== 'running' && view.status !== 'queued') throw new Error(`render ended before the hang: ${JSON.stringify(view)}`);
        return view.stage === 'resolving' && (await processesOf(dataDir, 'ffprobe')).length > 0 ? true : undefined;
      }, 60_000, 50);
      expect(((await (await fetch(`${url}/v1/video/renders/${id}`, { method: 'DELETE' })).json()) as any).status).toBe('cancelled');
      await waitFor('no probe left', async () => ((await processesOf(dataDir)).length === 0 ? true : undefined), 30_000, 50);
      const view = (await (await fetch(`${url}/v1/video/renders/${id}`)).json()) as any;
      expect(view.status).toBe('cancelled');
      expect(view.error).toBeUndefined();
      expect((await fetch(`${url}/v1/video/renders/${id}/files/video.mp4`)).status).toBe(404);
      expect(existsSync(server!.renders.renderDir(id))).toBe(false);
      expect(existsSync(path.join(dataDir, 'studio', 'work', id))).toBe(false);
    } finally {
      await writeFile(probeHangFile, 'no-such-argument-ever');
    }
  }, 120_000);

  it('shows a failure stored as plain text by an older version as { code, message } after a restart', async () => {
    await server!.close();
    server = undefined;
    const db = new Database(path.join(dataDir, 'livefx.db'));
    const now = new Date().toISOString();
    db.prepare('INSERT INTO highlight_jobs (id, kind, params, status, progress, stage, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('old-render', 'render', '{}', 'failed', 0.4, 'failed', 'render "shots" stage: ffmpeg exited with 1', now, now);
    db.close();
    ({ server, url } = await startStudioServer(dataDir, { LIVEFX_STUDIO_MIN_FREE_MB: '0' }, store));
    const view = (await (await fetch(`${url}/v1/video/renders/old-render`)).json()) as any;
    expect(view.status).toBe('failed');
    expect(view.error).toEqual({ code: 'render_failed', message: 'render "shots" stage: ffmpeg exited with 1' });
  }, 120_000);
});

describe('the disk floor during a render', () => {
  it('stops at the first check below the floor after shots were made: disk_floor, nothing published, no partial file left', async () => {
    const localDir = path.join(scratch, 'local');
    const config = loadConfig({ LIVEFX_DATA_DIR: localDir, LIVEFX_STUDIO_MIN_FREE_MB: '100' });
    const studio = openLocalStudio(config);
    const queue = new SqliteJobQueue({ db: studio.database.db, concurrency: 1 });
    // A fake disk that fills up as the render goes: plenty of room for the first checks (the start, the first two shots), then 10 MB.
    let checks = 0;
    const service = new RenderService({
      jobQueue: queue,
      dataDir: localDir,
      ffmpeg: 'ffmpeg',
      ffprobe: 'ffprobe',
      recordings: studio.recorder,
      storyboards: studio.storyboards,
      cacheMaxBytes: 2 ** 30,
      minFreeBytes: 100 * 2 ** 20,
      freeBytes: async () => (++checks <= 3 ? 2 ** 40 : 10 * 2 ** 20),
      stallS: 30,
      log: pino({ level: 'silent' }),
    });
    try {
      const recording = (await studio.recorder.importer.import({ media, events: { events: [] } as any })).id;
      const body = twoClips(recording);
      body.shots.push({ index: 2, start: 5, duration: 2, kind: 'clip', source: { recording_id: recording, in: 6, out: 8 }, reasons: [] });
      body.duration_s = 7;
      const job = await service.submitStoryboard(body, { quality: 'preview' }, { role: 'admin' });
      await queue.start();
      await queue.settled(job.id);
      const done = (await queue.get(job.id))!;
      expect(done.status).toBe('failed');
      expect(checks).toBeGreaterThan(3);
      expect(renderErrorView(done.error)).toEqual({ code: 'disk_floor', message: expect.stringMatching(/10 MB free on the data disk, below the floor of 100 MB \(LIVEFX_STUDIO_MIN_FREE_MB\); nothing was written/) });
      expect(existsSync(service.renderDir(job.id))).toBe(false);
      expect(existsSync(path.join(localDir, 'studio', 'work', job.id))).toBe(false);
      // The shots made before the floor are whole cache entries; nothing half-made is left.
      const cache = await readdir(path.join(localDir, 'studio', 'cache'));
      expect(cache.length).toBeGreaterThan(0);
      expect(cache.filter((name) => !/^[0-9a-f]{64}$/.test(name))).toEqual([]);
    } finally {
      await service.close();
      await studio.close();
    }
  }, 180_000);
});
