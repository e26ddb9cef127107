import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coverCrop, cropCommands, followFacePath, type FaceSample } from '../studio/camera-path.js';
import type { LivefxServer } from '../server/livefx-server.js';
import type { StoryboardBody } from '../studio/storyboard.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { adminFetch as fetch, waitFor } from './helpers/livefx-process.js';
import { closeStudio, hangingProgram, importRecording, MemoryStoryboardStore, startStudioServer, testProvenance, processesOf } from './helpers/studio-fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FACE_PHOTO = path.join(here, 'fixtures', 'face-man-in-suit.jpg');
/** The photo (its face in the middle, see fixtures/README.md) pasted 384 px wide onto a flat 1280×720 background, moving right. */
const PHOTO_SIZE = 384;
const PHOTO_LEFT = (t: number): number => 40 + 130 * t;
const BACKGROUND = '0x3a5a40';
const SHOT_S = 6;

let scratch: string;
let server: LivefxServer;
let url: string;
let faceRecording: string;
let facelessRecording: string;
let dataDir: string;
/** ffmpeg, except that a run whose arguments contain the text in this file hangs (named after its arguments, so it can be found). */
let hangPatternFile: string;
const store = new MemoryStoryboardStore();

function verticalShot(recordingId: string, camera: 'follow-face' | 'static', seed = 3): StoryboardBody {
  return {
    prompt: 'vertical short of the face',
    style: 'clean',
    aspect: '9:16',
    duration_s: SHOT_S,
    seed,
    captions: false,
    shots: [{ index: 0, start: 0, duration: SHOT_S, kind: 'clip', source: { recording_id: recordingId, in: 0, out: SHOT_S }, camera, reasons: ['test'] }],
  };
}

async function startRender(body: StoryboardBody): Promise<string> {
  const storyboard = await store.create(body, testProvenance(body.prompt));
  const response = await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ storyboard_id: storyboard.id }) });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function renderPreview(body: StoryboardBody): Promise<string> {
  const id = await startRender(body);
  const view = await waitFor(`render ${id}`, async () => {
    const current = (await (await fetch(`${url}/v1/video/renders/${id}`)).json()) as any;
    return ['done', 'failed', 'cancelled'].includes(current.status) ? current : undefined;
  }, 240_000, 200);
  expect(view.status, JSON.stringify(view.error)).toBe('done');
  const file = path.join(scratch, `${id}.mp4`);
  await writeFile(file, Buffer.from(await (await fetch(`${url}${view.result.file}`)).arrayBuffer()));
  return file;
}

/** Luma of the output frame at `t` (360×640 preview). */
function lumaAt(file: string, t: number): Buffer {
  const result = spawnSync('ffmpeg', ['-v', 'error', '-ss', t.toFixed(3), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 24 });
  expect(result.status, result.stderr.toString()).toBe(0);
  return result.stdout;
}

/** The horizontal centre of what is not the flat background on the rows through the face: where the photo is. */
function photoCentre(luma: Buffer, width: number, height: number): number | undefined {
  const background = luma[5 * width + 2]!;
  let left = width;
  let right = -1;
  for (let row = Math.round(height * 0.3); row < Math.round(height * 0.6); row += 4) {
    for (let column = 0; column < width; column++) {
      if (Math.abs(luma[row * width + column]! - background) > 25) {
        left = Math.min(left, column);
        right = Math.max(right, column);
      }
    }
  }
  return right < 0 ? undefined : (left + right) / 2;
}

function frameHashes(file: string): string[] {
  const result = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return result.stdout.split('\n').filter((line) => line && !line.startsWith('#'));
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-follow-face-'));
  const faceSource = path.join(scratch, 'moving-face.mp4');
  await runFfmpeg([
    ...['-f', 'lavfi', '-i', `color=c=${BACKGROUND}:s=1280x720:r=30:d=${SHOT_S + 1}`, '-loop', '1', '-i', FACE_PHOTO],
    ...['-filter_complex', `[1:v]scale=${PHOTO_SIZE}:${PHOTO_SIZE}[photo];[0:v][photo]overlay=x='40+130*t':y=160:shortest=1,format=yuv420p`],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-t', String(SHOT_S + 1), faceSource],
  ]);
  const facelessSource = path.join(scratch, 'pattern.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', `testsrc2=s=1280x720:r=30:d=${SHOT_S + 1}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', facelessSource]);
  hangPatternFile = path.join(scratch, 'hang-pattern');
  const hangingFfmpeg = await hangingProgram(scratch, 'ffmpeg', hangPatternFile);
  dataDir = path.join(scratch, 'data');
  ({ server, url } = await startStudioServer(dataDir, { LIVEFX_FFMPEG: hangingFfmpeg, LIVEFX_STUDIO_MIN_FREE_MB: '0' }, store));
  faceRecording = await importRecording(server, faceSource);
  facelessRecording = await importRecording(server, facelessSource);
}, 120_000);

afterAll(() => closeStudio(server, scratch));

describe('follow-face camera', () => {
  it('keeps a face that crosses a 16:9 source near the centre of the 9:16 crop', async () => {
    const file = await renderPreview(verticalShot(faceRecording, 'follow-face'));
    const [width, height] = [360, 640];
    const measured: { t: number; centre: number | undefined; sourceCentre: number }[] = [];
    for (const t of [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]) measured.push({ t, centre: photoCentre(lumaAt(file, t), width, height), sourceCentre: PHOTO_LEFT(t) + PHOTO_SIZE / 2 });
    // The face travels 650 px of the 1280 px source; a centred crop (x 438–842) would lose it at both ends.
    for (const sample of measured) {
      expect(sample.centre, JSON.stringify(measured)).toBeDefined();
      expect(Math.abs(sample.centre! - width / 2), `face ${JSON.stringify(sample)} off the output's centre`).toBeLessThan(width * 0.15);
    }
  }, 300_000);

  it('keeps the centred crop for a shot without a face: the same frames as a static camera', async () => {
    const follow = await renderPreview(verticalShot(facelessRecording, 'follow-face'));
    const still = await renderPreview(verticalShot(facelessRecording, 'static'));
    const followFrames = frameHashes(follow);
    expect(followFrames.length).toBe(SHOT_S * 15);
    expect(followFrames).toEqual(frameHashes(still));
  }, 300_000);

  it('cancels a render while it looks for faces: its decoder is gone, nothing is served or left half-written', async () => {
    // The sampler's decoder is the only ffmpeg that writes RGB.
    await writeFile(hangPatternFile, 'rgb24');
    try {
      const id = await startRender(verticalShot(faceRecording, 'follow-face', 4));
      await waitFor('the face sampler hanging', async () => {
        const view = (await (await fetch(`${url}/v1/video/renders/${id}`)).json()) as any;
        if (view.status !== 'running' && view.status !== 'queued') throw new Error(`render ended before the hang: ${JSON.stringify(view)}`);
        return (await processesOf(dataDir, 'ffmpeg')).length > 0 ? true : undefined;
      }, 60_000, 50);
      const cancelled = await fetch(`${url}/v1/video/renders/${id}`, { method: 'DELETE' });
      expect(((await cancelled.json()) as any).status).toBe('cancelled');
      expect(((await (await fetch(`${url}/v1/video/renders/${id}`)).json()) as any).status).toBe('cancelled');
      await waitFor('no ffmpeg left', async () => ((await processesOf(dataDir)).length === 0 ? true : undefined), 30_000, 50);
      expect((await fetch(`${url}/v1/video/renders/${id}/files/video.mp4`)).status).toBe(404);
      expect(existsSync(server.renders.renderDir(id))).toBe(false);
      expect(existsSync(path.join(dataDir, 'studio', 'work', id))).toBe(false);
      expect((await readdir(path.join(dataDir, 'studio', 'cache'))).filter((name) => !/^[0-9a-f]{64}$/.test(name))).toEqual([]);
    } finally {
      await writeFile(hangPatternFile, 'no-such-argument-ever');
    }
  }, 120_000);
});

describe('camera path', () => {
  const crop = coverCrop(1280, 720, 1080, 1920);
  const base = { frames: 90, fps: 15, sourceWidth: 1280, sourceHeight: 720, cropWidth: crop.width, cropHeight: crop.height };
  const face = (centreX: number): FaceSample['faces'][number] => ({ x: centreX / 1280 - 0.05, y: 0.3, width: 0.1, height: 0.2, score: 0.9 });

  it('crops 9:16 out of 16:9 at full height', () => {
    expect(crop).toEqual({ width: 404, height: 720 });
  });

  it('holds still while the face jitters inside the dead zone', () => {
    const samples = Array.from({ length: 18 }, (_, index) => ({ t: index / 3, faces: [face(640 + (index % 2 === 0 ? 12 : -12))] }));
    const path = followFacePath({ ...base, samples })!;
    expect(new Set(path.x).size).toBe(1);
    expect(path.x[0]).toBe(Math.round((652 - crop.width / 2) / 2) * 2);
    expect(path.y.every((y) => y === 0)).toBe(true);
  });

  it('glides after a face that jumps across the picture over more than half a second, and stays inside the source', () => {
    const samples = Array.from({ length: 18 }, (_, index) => ({ t: index / 3, faces: [face(index < 9 ? 200 : 1150)] }));
    const path = followFacePath({ ...base, samples })!;
    expect(path.x[0]).toBe(0);
    expect(path.x.at(-1)).toBe(1280 - crop.width);
    const steps = path.x.slice(1).map((x, index) => Math.abs(x - path.x[index]!));
    expect(Math.max(...steps)).toBeLessThan(100);
    expect(steps.filter((step) => step > 0).length).toBeGreaterThan(5);
  });

  it('follows the larger face, and has no path without any face', () => {
    const samples = [{ t: 0, faces: [face(300), { ...face(1000), width: 0.2, height: 0.4 }] }];
    expect(followFacePath({ ...base, samples })!.x[0]).toBeGreaterThan(600);
    expect(followFacePath({ ...base, samples: [{ t: 0, faces: [] }, { t: 1, faces: [] }] })).toBeUndefined();
  });

  it('writes sendcmd lines only for frames whose window moved, half a frame early', () => {
    const text = cropCommands({ x: [10, 10, 12], y: [0, 0, 0] }, 10, 'follow');
    expect(text).toBe('0.000000 crop@follow x 10, crop@follow y 0;\n0.150000 crop@follow x 12, crop@follow y 0;\n');
  });
});
