import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobCancelledError } from '../core/process/process-runner.js';
import { LooksRender } from '../studio/looks-render.js';
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
  const { writeFile } = await import('node:fs/promises');
  // The decoder (the only run writing yuv4mpegpipe) hangs; the encoder is a real ffmpeg waiting on its stdin.
  await writeFile(patternFile, 'yuv4mpegpipe');
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function lookPass(marker: string, signal: AbortSignal): LooksRender {
  const width = 64;
  const height = 36;
  return new LooksRender({
    ffmpeg: hangingFfmpeg,
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
