import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LivefxServer } from '../server/livefx-server.js';
import { describeRenderError, renderErrorView } from '../studio/render-error.js';
import type { StoryboardBody } from '../studio/storyboard.js';
import { runBuiltCli } from './helpers/cli-run.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { ADMIN_TOKEN, adminFetch as fetch, waitFor } from './helpers/livefx-process.js';
import { MemoryStoryboardStore, studioServer, testProvenance } from './helpers/studio-fixture.js';

let scratch: string;
let dataDir: string;
let server: LivefxServer | undefined;
let url: string;
let recordingId: string;
let failingFfmpeg: string;
const store = new MemoryStoryboardStore();

/** Two clips with a fade between them: the transition step runs ffmpeg's xfade, which the failing ffmpeg refuses. */
function twoClips(recording: string): StoryboardBody {
  return {
    prompt: 'a render that fails at its transition',
    style: 'clean',
    aspect: '16:9',
    duration_s: 5,
    seed: 5,
    captions: false,
    shots: [
      { index: 0, start: 0, duration: 2.5, kind: 'clip', source: { recording_id: recording, in: 0, out: 2.5 }, reasons: [] },
      { index: 1, start: 2.5, duration: 2.5, kind: 'clip', source: { recording_id: recording, in: 3, out: 5.5 }, transition: { name: 'fade', duration: 0.5 }, reasons: [] },
    ],
  };
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
  const media = path.join(scratch, 'pattern.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=30:d=8', '-f', 'lavfi', '-i', 'sine=f=330:sample_rate=48000:d=8', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', media]);
  server = studioServer(dataDir, { LIVEFX_FFMPEG: failingFfmpeg, LIVEFX_STUDIO_MIN_FREE_MB: '0' }, store);
  ({ url } = await server.start());
  recordingId = (await server.recorder.importer.import({ media, events: { events: [] } as any })).id;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
});

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

  it('shows a failure stored as plain text by an older version as { code, message } after a restart', async () => {
    await server!.close();
    server = undefined;
    const db = new Database(path.join(dataDir, 'livefx.db'));
    const now = new Date().toISOString();
    db.prepare('INSERT INTO highlight_jobs (id, kind, params, status, progress, stage, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('old-render', 'render', '{}', 'failed', 0.4, 'failed', 'render "shots" stage: ffmpeg exited with 1', now, now);
    db.close();
    server = studioServer(dataDir, { LIVEFX_STUDIO_MIN_FREE_MB: '0' }, store);
    ({ url } = await server.start());
    const view = (await (await fetch(`${url}/v1/video/renders/old-render`)).json()) as any;
    expect(view.status).toBe('failed');
    expect(view.error).toEqual({ code: 'render_failed', message: 'render "shots" stage: ffmpeg exited with 1' });
  }, 120_000);
});
