import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobCancelledError } from '../core/process/process-runner.js';
import { FACE_SAMPLER_WORKER, FaceSampler } from '../studio/face-sampler.js';
import { LOOKS_WORKER, LooksRender } from '../studio/looks-render.js';
import { WorkerPool } from '../studio/worker-pool.js';
import { processesMentioning } from './faults/fault-server.js';
import { waitFor } from './helpers/livefx-process.js';
import { hangingProgram } from './helpers/studio-fixture.js';

// A look pass is a worker thread with two ffmpeg children. Cancelling it at any moment, even while the
// thread is starting them, must leave neither behind: ending the thread alone does not (a child whose
// parent-death signal is set after its thread ended never receives it).

let scratch: string;
let hangingFfmpeg: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'livefx-studio-worker-'));
  const patternFile = path.join(scratch, 'hang-pattern');
  hangingFfmpeg = await hangingProgram(scratch, 'ffmpeg', patternFile);
  // The decoder (the only run writing yuv4mpegpipe) hangs; the encoder is a real ffmpeg waiting on its stdin.
  await writeFile(patternFile, 'yuv4mpegpipe');
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function lookPass(marker: string, signal: AbortSignal, ffmpeg = hangingFfmpeg, pool?: WorkerPool): LooksRender {
  const width = 64;
  const height = 36;
  return new LooksRender({
    ...(pool ? { pool } : {}),
    ffmpeg,
    decoderArgs: ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30:duration=1`, '-metadata', `comment=${marker}`, '-f', 'yuv4mpegpipe', '-pix_fmt', 'yuv420p', '-'],
    encoderArgs: ['-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-framerate', '30', '-i', '-', '-c:v', 'libx264', path.join(scratch, `${marker}.mp4`)],
    width,
    height,
    fps: 30,
    spec: { transforms: [{ name: 'color', enabled: true, params: { saturation: 0 } }] },
    lutDir: scratch,
    imageDir: scratch,
    transformBackend: 'auto',
    signal,
    stallS: 60,
  });
}

describe('studio worker threads', () => {
  it('leaves no ffmpeg behind when a look pass is cancelled at any moment of its start', async () => {
    for (let attempt = 0; attempt < 24; attempt++) {
      const marker = `look-cancel-${attempt}`;
      const controller = new AbortController();
      const pass = lookPass(marker, controller.signal);
      const running = pass.run();
      // From before the thread has loaded to after both children run: 0 to 230 ms in 10 ms steps.
      setTimeout(() => controller.abort(), attempt * 10);
      await expect(running).rejects.toBeInstanceOf(JobCancelledError);
      // Once the run has settled every child is already gone (the wait only absorbs /proc's lag).
      await waitFor(`no ffmpeg of ${marker} left`, async () => ((await processesMentioning(path.join(scratch, marker))).length === 0 && (await processesMentioning(`comment=${marker}`)).length === 0 ? true : undefined), 10_000, 20);
    }
  }, 240_000);

  it('keeps a look thread warm after a clean run and reuses it; a cancelled run\'s thread is never kept', async () => {
    const pool = new WorkerPool({ maxIdle: { [LOOKS_WORKER]: 1 }, idleMs: 60_000 });
    try {
      const { stat } = await import('node:fs/promises');
      expect((await lookPass('warm-1', new AbortController().signal, 'ffmpeg', pool).run()).frames).toBe(30);
      expect(pool.idleCount(LOOKS_WORKER)).toBe(1);
      // The second pass takes the idle thread (none idle while it runs) and gives it back.
      const second = lookPass('warm-2', new AbortController().signal, 'ffmpeg', pool).run();
      expect(pool.idleCount(LOOKS_WORKER)).toBe(0);
      expect((await second).frames).toBe(30);
      expect(pool.idleCount(LOOKS_WORKER)).toBe(1);
      expect((await stat(path.join(scratch, 'warm-2.mp4'))).size).toBeGreaterThan(0);
      // A cancelled pass on the warm thread: its children are killed and the thread ended, not kept.
      const controller = new AbortController();
      const hanging = lookPass('warm-cancel', controller.signal, hangingFfmpeg, pool).run();
      await waitFor('the warm thread\'s decoder hanging', async () => ((await processesMentioning('comment=warm-cancel')).length > 0 ? true : undefined), 30_000, 20);
      controller.abort();
      await expect(hanging).rejects.toBeInstanceOf(JobCancelledError);
      expect(pool.idleCount(LOOKS_WORKER)).toBe(0);
      await waitFor('no ffmpeg of warm-cancel left', async () => ((await processesMentioning('comment=warm-cancel')).length === 0 ? true : undefined), 10_000, 20);
      // Closing the pool ends the idle threads.
      expect((await lookPass('warm-3', new AbortController().signal, 'ffmpeg', pool).run()).frames).toBe(30);
      expect(pool.idleCount(LOOKS_WORKER)).toBe(1);
      await pool.close();
      expect(pool.idleCount(LOOKS_WORKER)).toBe(0);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('keeps one face sampler thread, its face model loaded, for the next follow-face shots', async () => {
    const { spawnSync } = await import('node:child_process');
    const clip = path.join(scratch, 'sampler-clip.mp4');
    expect(spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=30:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]).status).toBe(0);
    const pool = new WorkerPool({ maxIdle: { [FACE_SAMPLER_WORKER]: 1 }, idleMs: 60_000 });
    try {
      const sample = (): Promise<unknown[]> => new FaceSampler({ ffmpeg: 'ffmpeg', file: clip, sourceWidth: 320, sourceHeight: 180, in: 0, seconds: 2, signal: new AbortController().signal, stallS: 60, pool }).run();
      expect((await sample()).length).toBe(6);
      expect(pool.idleCount(FACE_SAMPLER_WORKER)).toBe(1);
      const second = sample();
      expect(pool.idleCount(FACE_SAMPLER_WORKER), 'the second shot runs on the kept thread').toBe(0);
      expect((await second).length).toBe(6);
      expect(pool.idleCount(FACE_SAMPLER_WORKER)).toBe(1);
    } finally {
      await pool.close();
    }
    expect(pool.idleCount(FACE_SAMPLER_WORKER)).toBe(0);
  }, 120_000);

  it('runs the look on the backend live streams use (LIVEFX_TRANSFORM_BACKEND), with the same pixels on each', async () => {
    const [width, height] = [162, 92];
    const spec = { transforms: [{ name: 'color' as const, enabled: true, params: { contrast: 1.4, saturation: 1.5 } }, { name: 'pixelate' as const, enabled: true, params: { blockSize: 8 } }] };
    const backends: Record<string, string[]> = {};
    const outputs: Record<string, Buffer> = {};
    for (const transformBackend of ['js', 'wasm', 'auto'] as const) {
      const output = path.join(scratch, `look-${transformBackend}.yuv`);
      const pass = new LooksRender({
        ffmpeg: 'ffmpeg',
        decoderArgs: ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30:duration=0.5`, '-f', 'yuv4mpegpipe', '-pix_fmt', 'yuv420p', '-'],
        encoderArgs: ['-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-framerate', '30', '-i', '-', '-f', 'rawvideo', output],
        width,
        height,
        fps: 30,
        spec,
        lutDir: scratch,
        imageDir: scratch,
        transformBackend,
        signal: new AbortController().signal,
        stallS: 60,
      });
      const result = await pass.run();
      expect(result.frames).toBe(15);
      backends[transformBackend] = result.backends;
      outputs[transformBackend] = await readFile(output);
    }
    expect(backends).toEqual({ js: ['js', 'js'], wasm: ['wasm', 'wasm'], auto: ['wasm', 'wasm'] });
    expect(outputs.js!.length).toBe((width * height * 3) / 2 * 15);
    expect(outputs.wasm!.equals(outputs.js!)).toBe(true);
    expect(outputs.auto!.equals(outputs.js!)).toBe(true);
  }, 120_000);
});
