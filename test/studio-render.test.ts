import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { LivefxServer } from '../server/livefx-server.js';
import type { StoryboardBody } from '../studio/storyboard.js';
import { ADMIN_TOKEN, adminFetch as fetch, waitFor } from '../benchmarks/livefx-process.js';
import { processesMentioning } from './faults/fault-server.js';
import { fourShotStoryboard, makeStudioImage, makeStudioSource, MemoryStoryboardStore, testProvenance } from './helpers/studio-fixture.js';

let scratch: string;
let source: { file: string; events: { events: unknown[] } };
let server: LivefxServer;
let url: string;
let dataDir: string;
let recordingId: string;
const store = new MemoryStoryboardStore();
/** ffmpeg, except that a run whose arguments contain the text in `hangPatternFile` hangs (named after its arguments, so it can be found). */
let hangingFfmpeg: string;
let hangPatternFile: string;

const json = { 'content-type': 'application/json' };

function probe(file: string): { width: number; height: number; fps: string; duration: number; audio: boolean; tags: Record<string, string> } {
  const out = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,width,height,r_frame_rate:format=duration:format_tags', '-of', 'json', file], { encoding: 'utf8' });
  const parsed = JSON.parse(out.stdout);
  const video = parsed.streams.find((stream: any) => stream.codec_type === 'video');
  return { width: video.width, height: video.height, fps: video.r_frame_rate, duration: Number(parsed.format.duration), audio: parsed.streams.some((stream: any) => stream.codec_type === 'audio'), tags: parsed.format.tags ?? {} };
}

/** Frames that decode without error (the file plays). */
function decodedFrames(file: string): { frames: number; errors: string } {
  const out = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return { frames: Number(out.stdout.trim()), errors: out.stderr };
}

async function storyboard(body: StoryboardBody): Promise<string> {
  return (await store.create(body, testProvenance(body.prompt))).id;
}

async function render(request: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: json, body: JSON.stringify(request) });
  const body = (await response.json()) as any;
  expect(response.status, JSON.stringify(body)).toBe(202);
  expect(body.status).toBe('queued');
  return body.id;
}

async function finished(id: string, timeoutMs = 180_000): Promise<any> {
  return waitFor(`render ${id} finished`, async () => {
    const view = (await (await fetch(`${url}/v1/video/renders/${id}`)).json()) as any;
    return ['done', 'failed', 'cancelled'].includes(view.status) ? view : undefined;
  }, timeoutMs, 100);
}

async function download(urlPath: string, file: string): Promise<string> {
  const response = await fetch(`${url}${urlPath}`);
  expect(response.status).toBe(200);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-studio-render-'));
  source = await makeStudioSource(scratch);
  dataDir = path.join(scratch, 'data');
  await mkdir(path.join(dataDir, 'images'), { recursive: true });
  await makeStudioImage(path.join(dataDir, 'images', 'chart.png'));
  hangPatternFile = path.join(scratch, 'hang-pattern');
  await writeFile(hangPatternFile, 'no-such-argument-ever');
  hangingFfmpeg = path.join(scratch, 'ffmpeg-hanging');
  await writeFile(hangingFfmpeg, `#!/bin/bash\npattern=$(cat ${hangPatternFile})\ncase "$*" in *"$pattern"*) exec -a "ffmpeg-hanging $*" sleep 600;; esac\nexec ffmpeg "$@"\n`);
  await chmod(hangingFfmpeg, 0o755);
  server = new LivefxServer(loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_FFMPEG: hangingFfmpeg, LIVEFX_STUDIO_MIN_FREE_MB: '0' }), pino({ level: 'silent' }), { storyboards: store });
  ({ url } = await server.start());
  recordingId = (await server.recorder.importer.import({ media: source.file, events: source.events as any })).id;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('studio renders', () => {
  let firstPreview: { id: string; file: string; view: any };

  it('renders a 4-shot preview that plays: 640×360, 15 fps, the storyboard duration, captions, thumbnail and provenance', async () => {
    const id = await render({ storyboard_id: await storyboard(fourShotStoryboard(recordingId)) });
    const view = await finished(id);
    expect(view.status, JSON.stringify(view)).toBe('done');
    expect(view.progress).toBe(1);
    const file = await download(view.result.file, path.join(scratch, 'preview-1.mp4'));
    const info = probe(file);
    expect(info.width).toBe(640);
    expect(info.height).toBe(360);
    expect(info.fps).toBe('15/1');
    expect(Math.abs(info.duration - 15)).toBeLessThanOrEqual(0.1);
    expect(info.audio).toBe(true);
    const decoded = decodedFrames(file);
    expect(decoded.errors).toBe('');
    expect(decoded.frames).toBe(225);
    expect(view.result.shots.map((shot: any) => shot.cached)).toEqual([false, false, false, false]);
    expect(JSON.parse(info.tags.comment!).prompt).toBe('15s recap of the garden hour, warm look');
    expect(view.result.provenance.sources[0]).toMatchObject({ recording_id: recordingId, in: 11.5 });
    expect(view.result.provenance.sources[0].sha256).toBe(await sha256((await server.recorder.media(recordingId, 'original')).file));
    const ranged = await fetch(`${url}${view.result.captions}`, { headers: { range: 'bytes=0-5' } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe('WEBVTT');
    const vtt = await (await fetch(`${url}${view.result.captions}`)).text();
    expect(vtt).toMatch(/00:00:0\d\.\d{3} --> .*\nThese\n/);
    expect(vtt).toMatch(/These tomatoes grew/);
    expect((await fetch(`${url}${view.result.thumbnail}`)).headers.get('content-type')).toBe('image/jpeg');
    const manifest = (await (await fetch(`${url}${view.result.manifest}`)).json()) as any;
    expect(manifest.output.sha256).toBe(await sha256(file));
    firstPreview = { id, file, view };
    await writeFile('/tmp/studio-preview-debug.mp4', await readFile(file));
  });
});
