// How the transform benchmarks time a kernel and ffmpeg's equivalent filter, in the same run.
import { spawnSync } from 'node:child_process';
import { I420Frame } from '../transforms/frame.js';
import type { Transform } from '../transforms/transform.js';

const ITERATIONS = Number(process.env.TRANSFORM_ITERATIONS ?? 60);
const FFMPEG_FRAMES = Number(process.env.TRANSFORM_FFMPEG_FRAMES ?? 150);

/** One frame of ffmpeg's testsrc2 as raw I420. */
export function testFrame(width: number, height: number): Buffer {
  return spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], { maxBuffer: 1 << 28 }).stdout;
}

/**
 * Median CPU ms (user + system of this process) of one apply() over ITERATIONS frames (the input is
 * restored before each). CPU time, like ffmpeg's figure: on a shared, loaded machine wall time
 * counted other processes' time slices too (lut3d at 720p read 2.7–6.8 ms wall for 2.7 ms CPU).
 * `frame`: where the frame lives (the wasm backend's frames are in its memory).
 */
export function timeOurs(transform: Transform<unknown>, input: Buffer, width: number, height: number, frame = new I420Frame(width, height)): number {
  const times: number[] = [];
  for (let index = 0; index < ITERATIONS; index++) {
    input.copy(frame.buffer);
    const start = process.cpuUsage();
    transform.apply(frame, { frameIndex: index, frameIntervalMs: 33 });
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** CPU ms per frame ffmpeg spends in `filter` (one filter thread), from -benchmark's user+system time. */
export function timeFfmpeg(filter: string, width: number, height: number): number {
  const cpuSeconds = (vf: string): number => {
    const result = spawnSync('ffmpeg', [
      '-hide_banner', '-benchmark', '-threads', '1', '-filter_threads', '1', '-filter_complex_threads', '1',
      '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30`, '-frames:v', String(FFMPEG_FRAMES),
      '-filter_complex', `[0:v]format=yuv420p,${vf},format=yuv420p`, '-f', 'null', '-',
    ]);
    const match = /utime=([\d.]+)s stime=([\d.]+)s/.exec(result.stderr.toString());
    if (!match) throw new Error(`no -benchmark line: ${result.stderr.toString().slice(-500)}`);
    return Number(match[1]) + Number(match[2]);
  };
  const base = Math.min(cpuSeconds('null'), cpuSeconds('null'));
  const withFilter = Math.min(cpuSeconds(filter), cpuSeconds(filter));
  return Math.max(0, ((withFilter - base) * 1000) / FFMPEG_FRAMES);
}

export function round(value: number): number {
  return Math.round(value * 100) / 100;
}
