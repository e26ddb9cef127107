import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { WhipClient } from './helpers/whip-client.js';

const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** Three 6 s scenes the publisher sends (source time): cuts at 6 and 12 s. */
const SCENES = 'testsrc2=size=320x240:rate=15:duration=6[a];smptebars=size=320x240:rate=15:duration=6[b];mandelbrot=size=320x240:rate=15[m];[m]trim=duration=6[c];[a][b][c]concat=n=3[out0]';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ LIVEFX_MEDIA_TIMEOUT_S: '3', LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN });
});

afterAll(async () => {
  const code = await server.stop('SIGTERM');
  expect(code, server.output()).toBe(0);
});

async function api(route: string, init: RequestInit = {}): Promise<any> {
  const response = await fetch(`${server.url}${route}`, { ...init, headers: { 'content-type': 'application/json', ...AUTH, ...(init.headers ?? {}) } });
  return { status: response.status, body: await response.json() };
}

/** The MP4 chapters of a file, by ffprobe. */
function chapters(file: string): { start: number; end: number; title: string }[] {
  const result = spawnSync('ffprobe', ['-v', 'error', '-show_chapters', '-of', 'json', file], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return (JSON.parse(result.stdout).chapters as { start_time: string; end_time: string; tags?: { title?: string } }[]).map((chapter) => ({ start: Number(chapter.start_time), end: Number(chapter.end_time), title: chapter.tags?.title ?? '' }));
}

/** ffmpeg scdet's cut times in a file (the reference the live signals are checked against). */
function scdetCuts(file: string): number[] {
  const result = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-an', '-i', file, '-vf', 'scdet=t=10', '-f', 'null', '-'], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return [...result.stderr.matchAll(/lavfi\.scd\.time: ([\d.]+)/g)].map((match) => Number(match[1]));
}

describe('live signals while recording', () => {
  it('stores scene cuts as signal events; the export carries chapters at them and highlights use them instead of ffmpeg analysis', async () => {
    const created = await api('/v1/streams', { method: 'POST', body: JSON.stringify({ title: 'three scenes' }) });
    expect(created.status).toBe(201);
    const stream = created.body;
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240, fps: 15, source: SCENES });
    await publisher.start();
    const live = await waitFor('a recording in progress', async () => (await api(`/v1/recordings?streamId=${stream.id}`)).body.recordings[0]);
    await new Promise((resolve) => setTimeout(resolve, 19_000));
    await publisher.stop();
    const recording = await waitFor('the recording to complete', async () => {
      const current = (await api(`/v1/recordings/${live.id}`)).body;
      return current.state === 'complete' ? current : undefined;
    }, 20_000);

    const response = await fetch(`${server.url}/v1/recordings/${recording.id}/events?type=signal`, { headers: AUTH });
    const events = (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((event) => event.type === 'signal');
    const video = events.filter((event) => event.source === 'video');
    expect(video.length, 'about one video signal event per second').toBeGreaterThanOrEqual(8);
    expect(video.every((event) => event.values.length === 10 && event.slot === 0.1)).toBe(true);
    const liveCuts: number[] = video.flatMap((event) => event.cuts.map(([offset]: [number, number]) => event.t + offset));

    const media = path.join(server.dataDir, 'recordings', recording.id, 'transformed.mp4');
    expect((await fetch(`${server.url}/v1/recordings/${recording.id}/media/transformed`, { headers: AUTH })).status).toBe(200);
    const reference = scdetCuts(media);
    expect(reference.length, `scdet cuts ${reference.join(', ')}`).toBeGreaterThanOrEqual(2);
    for (const cut of reference) expect(liveCuts.some((liveCut) => Math.abs(liveCut - cut) <= 1), `scdet cut at ${cut} s; live cuts ${liveCuts.join(', ')}`).toBe(true);
    for (const liveCut of liveCuts) expect(reference.some((cut) => Math.abs(liveCut - cut) <= 1), `live cut at ${liveCut} s; scdet cuts ${reference.join(', ')}`).toBe(true);

    // The full recording export carries chapters split at those cuts.
    const marked = chapters(media);
    expect(marked.length, JSON.stringify(marked)).toBeGreaterThanOrEqual(2);
    for (const chapter of marked.slice(1)) expect(reference.some((cut) => Math.abs(chapter.start - cut) <= 1), `chapter at ${chapter.start} s; scdet cuts ${reference.join(', ')}`).toBe(true);

    const posted = await api('/v1/video/highlights', { method: 'POST', body: JSON.stringify({ recording_id: recording.id, k: 1, min_clip_s: 3, max_clip_s: 6 }) });
    expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    const job = await waitFor('the highlights job to finish', async () => {
      const current = (await api(`/v1/video/highlights/${posted.body.id}`)).body;
      return current.status === 'done' || current.status === 'failed' ? current : undefined;
    }, 60_000);
    expect(job.status, job.error).toBe('done');
    expect(job.result.provenance.signals.analysis).toBe('live-signals');
  }, 100_000);
});
