import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChainSpec } from '../transforms/chain-spec.js';
import { Chain } from '../transforms/chain.js';
import { I420Frame } from '../transforms/frame.js';
import { createTransform } from '../transforms/transform-factory.js';
import { resolveLook } from '../studio/looks.js';
import type { LivefxServer } from '../server/livefx-server.js';
import type { StoryboardBody } from '../studio/storyboard.js';
import { adminFetch as fetch, createStream, waitFor } from './helpers/livefx-process.js';
import { closeStudio, fourShotStoryboard, hangingProgram, importRecording, makeStudioImage, makeStudioSource, MemoryStoryboardStore, startStudioServer, studioServer, testProvenance, processesOf } from './helpers/studio-fixture.js';

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
  hangingFfmpeg = await hangingProgram(scratch, 'ffmpeg', hangPatternFile);
  ({ server, url } = await startStudioServer(dataDir, { LIVEFX_FFMPEG: hangingFfmpeg, LIVEFX_STUDIO_MIN_FREE_MB: '0' }, store));
  recordingId = await importRecording(server, source.file, source.events);
}, 120_000);

afterAll(() => closeStudio(server, scratch));

describe('studio renders', () => {
  let firstPreview: { id: string; storyboardId: string; file: string; view: any };

  it('renders a 4-shot preview that plays: 640×360, 15 fps, the storyboard duration, captions, thumbnail and provenance', async () => {
    const storyboardId = await storyboard(fourShotStoryboard(recordingId));
    const id = await render({ storyboard_id: storyboardId });
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
    firstPreview = { id, storyboardId, file, view };
  }, 120000);

  it('measures −14 ± 1 LUFS integrated and a true peak at or below −1 dBTP (ffmpeg ebur128)', async () => {
    const loudness = measureLoudness(firstPreview.file);
    expect(Math.abs(loudness.integrated + 14)).toBeLessThanOrEqual(1);
    expect(loudness.truePeak).toBeLessThanOrEqual(-1);
  });

  it('reuses every shot for the same storyboard and gives the same bytes; a one-text variant re-renders only that shot', async () => {
    const again = await finished(await render({ storyboard_id: firstPreview.storyboardId }));
    expect(again.status).toBe('done');
    expect(again.result.shots.map((shot: any) => shot.cached)).toEqual([true, true, true, true]);
    expect(await sha256(await download(again.result.file, path.join(scratch, 'preview-2.mp4')))).toBe(await sha256(firstPreview.file));
    const variantBoard = fourShotStoryboard(recordingId);
    variantBoard.shots[3]!.text = 'See you on Sunday';
    const variant = await finished(await render({ storyboard_id: await storyboard(variantBoard) }));
    expect(variant.status).toBe('done');
    expect(variant.result.shots.map((shot: any) => shot.cached)).toEqual([true, true, true, false]);
    for (const shot of variant.result.shots) expect(typeof shot.ms).toBe('number');
    expect(await sha256(await download(variant.result.file, path.join(scratch, 'variant.mp4')))).not.toBe(await sha256(firstPreview.file));
  }, 240000);

  it('renders a byte-identical preview from scratch for the same storyboard and seed (cache emptied)', async () => {
    await rm(path.join(dataDir, 'studio', 'cache'), { recursive: true, force: true });
    const view = await finished(await render({ storyboard_id: firstPreview.storyboardId }));
    expect(view.status).toBe('done');
    expect(view.result.shots.map((shot: any) => shot.cached)).toEqual([false, false, false, false]);
    expect(await sha256(await download(view.result.file, path.join(scratch, 'preview-3.mp4')))).toBe(await sha256(firstPreview.file));
  }, 120000);

  it('renders high quality 9:16 at 1080×1920, 30 fps, with the "AI-edited" label of a stylized look in its provenance', async () => {
    const body = fourShotStoryboard(recordingId, { aspect: '9:16', style: 'cinematic', duration_s: 5, captions: false, music: undefined });
    body.shots = [
      { index: 0, start: 0, duration: 2.5, kind: 'clip', source: { recording_id: recordingId, in: 2, out: 4.5 }, camera: 'static', reasons: [] },
      { index: 1, start: 2.5, duration: 2.5, kind: 'clip', source: { recording_id: recordingId, in: 12, out: 14.5 }, camera: 'push-in', transition: { name: 'zoom', duration: 0.5 }, reasons: [] },
    ];
    const view = await finished(await render({ storyboard_id: await storyboard(body), quality: 'high' }));
    expect(view.status, JSON.stringify(view)).toBe('done');
    const file = await download(view.result.file, path.join(scratch, 'high.mp4'));
    const info = probe(file);
    expect([info.width, info.height, info.fps]).toEqual([1080, 1920, '30/1']);
    expect(Math.abs(info.duration - 5)).toBeLessThanOrEqual(0.1);
    expect(decodedFrames(file)).toEqual({ frames: 150, errors: '' });
    expect(view.result.provenance).toMatchObject({ ai_edited: true, label: 'AI-edited', quality: 'high', aspect: '9:16' });
    expect(info.tags.description).toBe('AI-edited');
  }, 240000);

  it('ducks the music under speech with a side-chain compressor (music bass ≥ 6 dB lower while the voice-over speaks)', async () => {
    const duckedBody = (duck: boolean): StoryboardBody => ({
      prompt: `ducking ${duck}`,
      style: 'clean',
      aspect: '16:9',
      duration_s: 10,
      seed: 3,
      captions: false,
      shots: [
        { index: 0, start: 0, duration: 5, kind: 'title', text: 'Voice', reasons: [] },
        { index: 1, start: 5, duration: 5, kind: 'title', text: 'Music', reasons: [] },
      ],
      voiceover: { text: 'Welcome back to the garden hour, the tomatoes grew all summer long.', voice: 'default' },
      music: { track: 'drive', gain_db: -10, duck },
    });
    const files: Record<string, string> = {};
    for (const duck of [true, false]) {
      const view = await finished(await render({ storyboard_id: await storyboard(duckedBody(duck)) }));
      expect(view.status, JSON.stringify(view)).toBe('done');
      files[String(duck)] = await download(view.result.file, path.join(scratch, `duck-${duck}.mp4`));
    }
    // The drive bed's bass and kick sit below 80 Hz, the voice above: a low-pass hears the music alone.
    const underSpeech = (file: string): number => bassRms(file, 1, 3) - bassRms(file, 7.5, 9.5);
    expect(underSpeech(files.true!)).toBeLessThanOrEqual(underSpeech(files.false!) - 6);
    for (const file of Object.values(files)) {
      const loudness = measureLoudness(file);
      expect(Math.abs(loudness.integrated + 14)).toBeLessThanOrEqual(1);
      expect(loudness.truePeak).toBeLessThanOrEqual(-1);
    }
  }, 180000);

  it('grades offline with the live kernels: the warm render equals the live chain applied to the clean render', async () => {
    const oneShot = (style: string): StoryboardBody => ({
      prompt: `look ${style}`,
      style,
      aspect: '16:9',
      duration_s: 5,
      seed: 5,
      captions: false,
      shots: [{ index: 0, start: 0, duration: 1, kind: 'clip', source: { recording_id: recordingId, in: 6, out: 7 }, reasons: [] }],
    });
    const frames: Record<string, I420Frame> = {};
    for (const style of ['clean', 'warm']) {
      const view = await finished(await render({ storyboard_id: await storyboard(oneShot(style)) }));
      expect(view.status, JSON.stringify(view)).toBe('done');
      const file = await download(view.result.file, path.join(scratch, `look-${style}.mp4`));
      const frame = new I420Frame(640, 360);
      spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', 'select=eq(n\\,7)', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], { maxBuffer: 1 << 24 }).stdout.copy(frame.buffer);
      frames[style] = frame;
    }
    // The live chain of the warm look, run here on the clean render's frame.
    const chain = new Chain(undefined, { adaptive: false });
    const spec = resolveLook('warm', () => undefined).spec;
    expect(parseChainSpec(spec).ok).toBe(true);
    chain.replace(spec.transforms.map((entry) => ({ transform: createTransform(entry, { lutDir: dataDir, imageDir: dataDir }), enabled: true })));
    const reference = new I420Frame(640, 360);
    frames.clean!.buffer.copy(reference.buffer);
    chain.apply(reference, { frameIndex: 0, frameIntervalMs: 66 });
    chain.close();
    const meanDifference = (a: Uint8Array, b: Uint8Array): number => a.reduce((sum, value, index) => sum + Math.abs(value - b[index]!), 0) / a.length;
    // Against the kernels' output the warm render differs by encoding noise only; against the ungraded picture by the grade.
    for (const plane of ['y', 'u', 'v'] as const) expect(meanDifference(frames.warm![plane], reference[plane])).toBeLessThan(2);
    expect(meanDifference(frames.warm!.v, frames.clean!.v)).toBeGreaterThan(8);
  }, 120_000);

  it('refuses a render of a deleted storyboard with 404 storyboard_not_found', async () => {
    const id = await storyboard(fourShotStoryboard(recordingId));
    await store.delete(id);
    const response = await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: json, body: JSON.stringify({ storyboard_id: id }) });
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error).toMatchObject({ code: 'storyboard_not_found', message: expect.stringContaining(id) });
    expect((await fetch(`${url}/v1/video/renders/nope`)).status).toBe(404);
  });

  it("keeps an operator of one stream to that stream's recordings and renders", async () => {
    const stream = await createStream(url, 'another stream');
    const operator = { authorization: `Bearer ${stream.operatorToken}`, 'content-type': 'application/json' };
    const refused = await globalThis.fetch(`${url}/v1/video/renders`, { method: 'POST', headers: operator, body: JSON.stringify({ storyboard_id: firstPreview.storyboardId }) });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error.message).toMatch(/belongs to another stream/);
    expect((await globalThis.fetch(`${url}/v1/video/renders/${firstPreview.id}`, { headers: operator })).status).toBe(404);
    const listed = (await (await globalThis.fetch(`${url}/v1/video/renders`, { headers: operator })).json()) as any;
    expect(listed.renders).toEqual([]);
    expect(((await (await fetch(`${url}/v1/video/renders`)).json()) as any).renders.some((render: any) => render.id === firstPreview.id)).toBe(true);
    expect((await globalThis.fetch(`${url}/v1/video/renders`)).status).toBe(401);
  });

  it('refuses an image asset path with ../ and an unknown recording', async () => {
    const body = fourShotStoryboard(recordingId);
    body.shots[3]!.source = { asset_id: '../livefx.db' };
    const traversal = await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: json, body: JSON.stringify({ storyboard_id: await storyboard(body) }) });
    expect(traversal.status).toBe(400);
    expect(((await traversal.json()) as any).error.message).toMatch(/asset_id "\.\.\/livefx\.db": must be the name of an uploaded image/);
    const unknown = fourShotStoryboard('no-such-recording');
    const missing = await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: json, body: JSON.stringify({ storyboard_id: await storyboard(unknown) }) });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('recording_not_found');
    const late = fourShotStoryboard(recordingId);
    late.shots[2]!.source = { recording_id: recordingId, in: 500, out: 505 };
    const past = await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: json, body: JSON.stringify({ storyboard_id: await storyboard(late) }) });
    expect(past.status).toBe(422);
    expect(((await past.json()) as any).error).toMatchObject({ code: 'invalid_request', field: 'shots.2.source.in', message: expect.stringContaining('past the end of recording') });
  });

  // Each stage is caught by making its ffmpeg hang (an argument only that stage uses), then cancelled there.
  const stages: { stage: string; pattern: string; style: string }[] = [
    { stage: 'shots', pattern: 'trim=start_frame=', style: 'clean' },
    { stage: 'shots', pattern: 'yuv4mpegpipe', style: 'mono' },
    { stage: 'transitions', pattern: 'xfade', style: 'clean' },
    { stage: 'audio', pattern: 'sidechaincompress', style: 'clean' },
    { stage: 'stitch', pattern: 'concat -safe', style: 'clean' },
    { stage: 'finishing', pattern: 'thumbnail.jpg', style: 'clean' },
  ];
  for (const [index, { stage, pattern, style }] of stages.entries()) {
    it(`cancels a render in its ${stage} stage (${pattern}): no ffmpeg left, nothing served, nothing half-written`, async () => {
      await writeFile(hangPatternFile, pattern);
      try {
        const body: StoryboardBody = {
          prompt: `cancel ${index}`,
          style,
          aspect: '16:9',
          duration_s: 5,
          seed: 100 + index,
          captions: false,
          shots: [
            { index: 0, start: 0, duration: 2, kind: 'clip', source: { recording_id: recordingId, in: 1, out: 3 }, reasons: [] },
            { index: 1, start: 2, duration: 2, kind: 'clip', source: { recording_id: recordingId, in: 5, out: 7 }, transition: { name: 'fade', duration: 0.4 }, reasons: [] },
          ],
          music: { track: 'calm', gain_db: -18, duck: true },
        };
        const id = await render({ storyboard_id: await storyboard(body) });
        await waitFor(`the render hanging in ${stage}`, async () => {
          const view = (await (await fetch(`${url}/v1/video/renders/${id}`)).json()) as any;
          if (view.status !== 'running' && view.status !== 'queued') throw new Error(`render ended before the hang: ${JSON.stringify(view)}`);
          return view.stage === stage && (await processesOf(dataDir, 'ffmpeg')).length > 0 ? true : undefined;
        }, 60_000, 50);
        const cancelled = await fetch(`${url}/v1/video/renders/${id}`, { method: 'DELETE' });
        expect(((await cancelled.json()) as any).status).toBe('cancelled');
        const view = (await (await fetch(`${url}/v1/video/renders/${id}`)).json()) as any;
        expect(view.status).toBe('cancelled');
        expect(view.result).toBeUndefined();
        let left: string[] = [];
        await waitFor('no ffmpeg left on the data dir', async () => {
          left = (await processesOf(dataDir)).map((found) => `${found.pid} ${found.name}: ${found.cmdline.slice(0, 300)}`);
          return left.length === 0 ? true : undefined;
        }, 30_000, 50).catch((error: Error) => {
          throw new Error(`${error.message}; still running:\n${left.join('\n')}`);
        });
        expect((await fetch(`${url}/v1/video/renders/${id}/files/video.mp4`)).status).toBe(404);
        expect(existsSync(server.renders.renderDir(id))).toBe(false);
        expect((await readdir(path.join(dataDir, 'studio', 'cache'))).filter((name) => name.includes('partial'))).toEqual([]);
      } finally {
        await writeFile(hangPatternFile, 'no-such-argument-ever');
      }
    }, 120_000);
  }

  it('fails clearly at the disk floor and writes nothing', async () => {
    const floorDir = path.join(scratch, 'floor');
    const floored = studioServer(floorDir, { LIVEFX_STUDIO_MIN_FREE_MB: String(2 ** 40) }, store);
    const started = await floored.start();
    try {
      const imported = await floored.recorder.importer.import({ media: source.file, events: source.events as any });
      const body = fourShotStoryboard(imported.id, { music: undefined });
      body.shots = body.shots.slice(0, 2);
      const response = await fetch(`${started.url}/v1/video/renders`, { method: 'POST', headers: json, body: JSON.stringify({ storyboard_id: await storyboard(body) }) });
      const { id } = (await response.json()) as any;
      const view = await waitFor('the render failed', async () => {
        const current = (await (await fetch(`${started.url}/v1/video/renders/${id}`)).json()) as any;
        return ['done', 'failed'].includes(current.status) ? current : undefined;
      }, 60_000, 100);
      expect(view.status).toBe('failed');
      expect(view.error).toEqual({ code: 'disk_floor', message: expect.stringMatching(/below the floor of .* MB \(LIVEFX_STUDIO_MIN_FREE_MB\); nothing was written/) });
      expect(existsSync(path.join(floorDir, 'studio', 'renders', id))).toBe(false);
      expect(await readdir(path.join(floorDir, 'studio', 'cache')).catch(() => [])).toEqual([]);
    } finally {
      await floored.close();
    }
  }, 120000);
});

function measureLoudness(file: string): { integrated: number; truePeak: number } {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-map', '0:a', '-af', 'ebur128=peak=true', '-f', 'null', '-'], { encoding: 'utf8' }).stderr;
  const summary = out.slice(out.lastIndexOf('Summary:'));
  return { integrated: Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)![1]), truePeak: Number(/True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/.exec(summary)![1]) };
}

/** RMS level (dB) below 80 Hz between two times of a file's audio. */
function bassRms(file: string, from: number, to: number): number {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-map', '0:a', '-af', `atrim=${from}:${to},lowpass=f=80,lowpass=f=80,astats=measure_perchannel=none:measure_overall=RMS_level`, '-f', 'null', '-'], { encoding: 'utf8' }).stderr;
  return Number(/RMS level dB:\s+(-?[\d.]+)/.exec(out)![1]);
}
