import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessRunner, FfmpegStallError } from '../core/process/process-runner.js';
import { scratchFolder } from './helpers/test-lifecycle.js';

const scratch = scratchFolder('livefx-ffmpeg-runner-');

describe('ProcessRunner watchdog', () => {
  it('kills an ffmpeg child that makes no progress and fails naming the stage', async () => {
    // Nobody ever writes this FIFO: a real ffmpeg blocks opening it, as a child wedged on its input does.
    const fifo = path.join(scratch.path, 'never-written.fifo');
    execFileSync('mkfifo', [fifo]);
    const runner = new ProcessRunner({ stallS: 1, label: 'highlights' });
    const run = runner.ffmpegRun(['-f', 'mpegts', '-i', fifo, '-f', 'null', '-'], undefined, { stage: 'analysing (silence)' });
    await expect(run).rejects.toBeInstanceOf(FfmpegStallError);
    await expect(run).rejects.toThrow(/stage "analysing \(silence\)" stopped: ffmpeg .*made no progress for 1 s and was killed/);
  });

  it('lets a child run longer than the stall limit while its progress report advances', async () => {
    const runner = new ProcessRunner({ stallS: 1.5, label: 'highlights' });
    const output = path.join(scratch.path, 'paced.mp4');
    // -re paces the input in real time: about 4 s of work, reported every 0.5 s.
    await runner.ffmpegRun(['-v', 'error', '-y', '-re', '-f', 'lavfi', '-i', 'testsrc=s=160x90:r=10:d=4', '-c:v', 'libx264', '-preset', 'ultrafast', output], undefined, { stage: 'cutting paced.mp4' });
    expect(await runner.durationS(output, undefined, 'check')).toBeCloseTo(4, 0);
  });

  it('scales the stall limit with the length of the input', () => {
    const runner = new ProcessRunner({ stallS: 30, label: 'highlights' });
    expect(runner.stallLimitS({ stage: 'probe' })).toBe(30);
    expect(runner.stallLimitS({ stage: 'silence', inputS: 3600 })).toBe(102);
  });
});
