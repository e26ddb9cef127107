import { mkdtemp, rm } from 'node:fs/promises';
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
});
