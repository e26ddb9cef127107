import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, projectRoot, waitFor } from '../helpers/livefx-process.js';
import { fourShotStoryboard, makeStudioImage, makeStudioSource } from '../helpers/studio-fixture.js';
import { api, apiJson, childrenOf, processesMentioning } from './fault-server.js';

const children: ChildProcess[] = [];
const folders: string[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** The built server with the file-backed storyboard store of test/fixtures/studio-server.mjs. */
async function startStudioServer(dataDir: string, storyboardsFile: string): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'test', 'fixtures', 'studio-server.mjs')], {
    cwd: projectRoot,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_LOG_LEVEL: 'warn', LIVEFX_STUDIO_MIN_FREE_MB: '0', STUDIO_STORYBOARDS_FILE: storyboardsFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
  const url = await waitFor('the studio server up', async () => {
    if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
    return /livefx is running at (\S+)/.exec(output)?.[1];
  }, 30_000, 50);
  return { url, process: child };
}

async function finished(url: string, id: string): Promise<any> {
  return waitFor(`render ${id} settled`, async () => {
    const view = await apiJson(`${url}/v1/video/renders/${id}`);
    return ['done', 'failed', 'cancelled'].includes(view.status) ? view : undefined;
  }, 240_000, 200);
}

async function downloadSha(url: string, route: string): Promise<string> {
  const response = await api(`${url}${route}`);
  expect(response.status).toBe(200);
  return createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex');
}

describe('fault: kill -9 of the server during a studio render', () => {
  it('leaves no ffmpeg behind; after the restart the render runs again to the same result', async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-studio-kill-'));
    folders.push(scratch);
    const dataDir = path.join(scratch, 'data');
    const storyboardsFile = path.join(scratch, 'storyboards.json');
    const source = await makeStudioSource(scratch);
    const first = await startStudioServer(dataDir, storyboardsFile);
    await mkdir(path.join(dataDir, 'images'), { recursive: true });
    await makeStudioImage(path.join(dataDir, 'images', 'chart.png'));
    const form = new FormData();
    form.append('media', new Blob([await readFile(source.file)]), 'garden.mp4');
    form.append('events', JSON.stringify(source.events));
    form.append('title', 'garden hour');
    const imported = await apiJson(`${first.url}/v1/recordings`, { method: 'POST', body: form });
    const body = fourShotStoryboard(imported.id);
    await writeFile(storyboardsFile, JSON.stringify({ board1: { ...body, id: 'board1', provenance: {}, created_at: '2026-12-06T00:00:00.000Z', updated_at: '2026-12-06T00:00:00.000Z' } }));
    const posted = await apiJson(`${first.url}/v1/video/renders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ storyboard_id: 'board1' }) });
    // Killed while shots are being rendered (an ffmpeg of the render is running).
    await waitFor('the render in ffmpeg', async () => {
      const view = await apiJson(`${first.url}/v1/video/renders/${posted.id}`);
      const running = (await processesMentioning(dataDir)).length > 0;
      return view.status === 'running' && view.stage === 'shots' && running ? true : undefined;
    }, 60_000, 20);
    first.process.kill('SIGKILL');
    await new Promise((resolve) => first.process.once('exit', resolve));
    await waitFor('no process left on the data dir', async () => ((await processesMentioning(dataDir)).length === 0 ? true : undefined), 10_000, 20);
    // Nothing of the killed render is published.
    expect(existsSync(path.join(dataDir, 'studio', 'renders', posted.id))).toBe(false);

    const second = await startStudioServer(dataDir, storyboardsFile);
    const rerun = await finished(second.url, posted.id);
    expect(rerun.status, JSON.stringify(rerun)).toBe('done');
    const rerunSha = await downloadSha(second.url, rerun.result.file);
    expect(rerun.result.provenance.output.sha256).toBe(rerunSha);
    const out = path.join(scratch, 'rerun.mp4');
    await writeFile(out, Buffer.from(await (await api(`${second.url}${rerun.result.file}`)).arrayBuffer()));
    const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'csv=p=0', out], { encoding: 'utf8' });
    expect(probe.stdout.trim()).toBe('640,360,225');
    // The same storyboard rendered again from scratch on the restarted server gives the same bytes.
    await rm(path.join(dataDir, 'studio', 'cache'), { recursive: true, force: true });
    const fresh = await finished(second.url, (await apiJson(`${second.url}/v1/video/renders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ storyboard_id: 'board1' }) })).id);
    expect(fresh.status).toBe('done');
    expect(await downloadSha(second.url, fresh.result.file)).toBe(rerunSha);
    expect((await readdir(path.join(dataDir, 'studio', 'cache'))).filter((name) => name.includes('partial'))).toEqual([]);
    expect(await childrenOf(second.process.pid!)).toEqual([]);
    second.process.kill('SIGTERM');
  }, 420_000);
});
