import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor, type RunningServer } from '../helpers/livefx-process.js';
import { highlightShowEvents, makeHighlightShow } from '../helpers/highlight-fixture.js';
import { api, apiJson, childrenOf, isRunning, probeMedia, processesMentioning, startFaultServer, cleanUp } from './fault-server.js';

const servers: RunningServer[] = [];
const folders: string[] = [];

afterAll(() => cleanUp(servers, folders));

/** A job's result without what differs between two runs: the job id in file URLs and the creation time. */
function comparable(view: any): unknown {
  const copy = JSON.parse(JSON.stringify(view.result).replaceAll(view.id, '<job>'));
  delete copy.provenance.createdAt;
  return copy;
}

describe('fault: kill -9 of the server while a highlights job runs', () => {
  it('leaves no job process behind, and the restarted server runs the job again to a complete, playable result', async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-highlight-kill-'));
    folders.push(scratch);
    const dataDir = path.join(scratch, 'data');
    const show = await makeHighlightShow(scratch);
    const first = await startFaultServer({ LIVEFX_DATA_DIR: dataDir });
    servers.push(first);
    const form = new FormData();
    form.append('media', new Blob([await readFile(show)]), 'show.mp4');
    form.append('events', JSON.stringify(highlightShowEvents()));
    form.append('title', 'show to crash on');
    const imported = await apiJson(`${first.url}/v1/recordings`, { method: 'POST', body: form });
    const posted = await apiJson(`${first.url}/v1/video/highlights`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recording_id: imported.id, k: 2 }) });
    // A fresh recording has no cached analysis: the job spends seconds in ffmpeg, and is killed there.
    const jobProcesses = await waitFor('the job running in ffmpeg', async () => {
      const view = await apiJson(`${first.url}/v1/video/highlights/${posted.id}`);
      const children = (await childrenOf(first.process.pid!)).filter((child) => child.name === 'ffmpeg' || child.name === 'ffprobe');
      return view.status === 'running' && children.length > 0 ? { view, children } : undefined;
    }, 20_000, 20);
    first.process.kill('SIGKILL');
    const killedMs = Date.now();
    await new Promise((resolve) => first.process.once('exit', resolve));

    // The job's ffmpeg dies with the server (its output pipe is gone): none is left writing into the data dir.
    // (One started just before the kill is not in that list: wait for every process naming the data dir.)
    await waitFor('the killed job’s processes gone', () => jobProcesses.children.every((child) => !isRunning(child.pid)) || undefined, 10_000, 20);
    await waitFor('no process left on the data dir', async () => ((await processesMentioning(dataDir)).length === 0 ? true : undefined), 10_000, 20);
    const orphansGoneMs = Date.now() - killedMs;

    // After the restart the job runs again from the start and finishes; its outputs are whole.
    const second = await startFaultServer({ LIVEFX_DATA_DIR: dataDir });
    servers.push(second);
    const restartedMs = Date.now();
    const done = await waitFor('the job finished after the restart', async () => {
      const view = await apiJson(`${second.url}/v1/video/highlights/${posted.id}`);
      return ['done', 'failed', 'cancelled'].includes(view.status) ? view : undefined;
    }, 90_000, 200);
    const rerunMs = Date.now() - restartedMs;
    expect(done.status, done.error).toBe('done');
    expect(done.result.clips.length).toBe(2);
    const reel = await api(`${second.url}${done.result.reel.file}`);
    expect(reel.status).toBe(200);
    const reelFile = path.join(scratch, 'reel.mp4');
    await writeFile(reelFile, Buffer.from(await reel.arrayBuffer()));
    const probed = probeMedia(reelFile);
    expect(probed.videoFrames).toBeGreaterThan(0);
    expect(Math.abs(probed.durationS - done.result.reel.duration)).toBeLessThan(0.5);
    for (const clip of done.result.clips) expect((await api(`${second.url}${clip.file}`)).status).toBe(200);
    expect(existsSync(path.join(dataDir, 'highlights', posted.id))).toBe(true);
    // Nothing the killed run left half-written (outputs, cached analysis) changed the result: a new job
    // with the same parameters gives the same clips, reel and chapters.
    const again = await apiJson(`${second.url}/v1/video/highlights`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recording_id: imported.id, k: 2 }) });
    const control = await waitFor('the control job finished', async () => {
      const view = await apiJson(`${second.url}/v1/video/highlights/${again.id}`);
      return ['done', 'failed', 'cancelled'].includes(view.status) ? view : undefined;
    }, 90_000, 200);
    expect(comparable(done)).toEqual(comparable(control));
    process.stdout.write(
      `fault kill-9 during a highlights job: ${JSON.stringify({ stageAtKill: jobProcesses.view.stage, progressAtKill: jobProcesses.view.progress, orphansGoneMs, rerunMs, clips: done.result.clips.length, reelS: done.result.reel.duration })}\n`,
    );
  }, 150_000);
});
