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

/**
 * ffmpeg's nearest graphs to toon and sketch at full and half resolution: bilateral smoothing,
 * lutyuv bands and a multiplied negated Sobel for toon; the colour dodge of luma with its blurred
 * negative for sketch. The half ones run the same graph between an area downscale and a bilinear upscale.
 */
export function stylizationGraphs(width: number, height: number): { toon: string; toonHalf: string; sketch: string; sketchHalf: string } {
  const toonGraph = (sigmaS: number) =>
    `split[toonSmooth][toonEdges];[toonSmooth]bilateral=sigmaS=${sigmaS}:sigmaR=0.05:planes=1,lutyuv=y='16+(trunc((val-16)*5/219.01)+0.5)*43.8':u='128+(val-128)*1.3':v='128+(val-128)*1.3'[toonBands];` +
    `[toonEdges]sobel=planes=1,negate=components=y[toonInk];[toonBands][toonInk]blend=c0_mode=multiply:c1_mode=normal:c2_mode=normal`;
  const sketchGraph = (sigma: number) => `split[sketchBase][sketchBlur];[sketchBlur]negate,gblur=sigma=${sigma}:planes=1[sketchNegative];[sketchBase][sketchNegative]blend=c0_mode=dodge,lutyuv=u=128:v=128`;
  const atHalf = (graph: string) => `scale=iw/2:ih/2:flags=area,${graph},scale=${width}:${height}:flags=bilinear`;
  // Box blur of radius 6 (sketch's default) has the spread of a Gaussian with sigma 3.7.
  return { toon: toonGraph(1.5), toonHalf: atHalf(toonGraph(0.75)), sketch: sketchGraph(3.7), sketchHalf: atHalf(sketchGraph(1.9)) };
}

export function round(value: number): number {
  return Math.round(value * 100) / 100;
}
