// Per-transform cost on one core, at 640x360, 1280x720 and 1920x1080, against ffmpeg's equivalent
// filter on one filter thread in the same run. ffmpeg's figure is the CPU time of a run with the
// filter minus the same run without it (source generation and conversions cancel out).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Chain } from '../transforms/chain.js';
import { Color, colorParams } from '../transforms/color.js';
import { Grain, grainParams } from '../transforms/grain.js';
import { Pixelate, pixelateParams } from '../transforms/pixelate.js';
import { Vignette, vignetteParams } from '../transforms/vignette.js';
import { ImageOverlay, imageParams } from '../transforms/image-overlay.js';
import { Label } from '../transforms/label.js';
import { Text, textParams } from '../transforms/text.js';
import { parseCubeFile } from '../transforms/cube-file.js';
import { I420Frame } from '../transforms/frame.js';
import { Lut3d } from '../transforms/lut3d.js';
import type { Transform } from '../transforms/transform.js';
import { writeResult } from './bar-chart.js';
import { projectRoot } from './livefx-process.js';

const SIZES: [number, number][] = [
  [640, 360],
  [1280, 720],
  [1920, 1080],
];
const ITERATIONS = Number(process.env.TRANSFORM_ITERATIONS ?? 60);
const FFMPEG_FRAMES = Number(process.env.TRANSFORM_FFMPEG_FRAMES ?? 150);

function gradeCube(size: number): string {
  const lines = [`LUT_3D_SIZE ${size}`];
  for (let b = 0; b < size; b++)
    for (let g = 0; g < size; g++)
      for (let r = 0; r < size; r++) {
        const [red, green, blue] = [r / (size - 1), g / (size - 1), b / (size - 1)];
        const luma = 0.3 * red + 0.59 * green + 0.11 * blue;
        lines.push(`${Math.min(1, 0.05 + 0.9 * red ** 0.85 + 0.1 * luma)} ${Math.min(1, 0.03 + 0.92 * green ** 1.05 + 0.05 * blue)} ${Math.min(1, 0.08 + 0.8 * blue ** 1.2 + 0.15 * (1 - luma) * green)}`);
      }
  return lines.join('\n');
}

function testFrame(width: number, height: number): Buffer {
  return spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], { maxBuffer: 1 << 28 }).stdout;
}

/** Median ms of one apply() over ITERATIONS frames (the input is restored before each). */
function timeOurs(transform: Transform<unknown>, input: Buffer, width: number, height: number): number {
  const frame = new I420Frame(width, height);
  const times: number[] = [];
  for (let index = 0; index < ITERATIONS; index++) {
    input.copy(frame.buffer);
    const start = performance.now();
    transform.apply(frame, { frameIndex: index, frameIntervalMs: 33 });
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** CPU ms per frame ffmpeg spends in `filter` (one filter thread), from -benchmark's user+system time. */
function timeFfmpeg(filter: string, width: number, height: number): number {
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

const dir = mkdtempSync(path.join(tmpdir(), 'livefx-bench-transforms-'));
const cubeText = gradeCube(33);
const cubeFile = path.join(dir, 'grade.cube');
writeFileSync(cubeFile, cubeText);
const colorSettings = { brightness: 0.05, contrast: 1.2, saturation: 1.3, gamma: 1.1 };

const rows: { size: string; transform: string; livefxMs: number; ffmpegMs: number; ratio: number }[] = [];
for (const [width, height] of SIZES) {
  const input = testFrame(width, height);
  const color = new Color();
  color.configure(colorParams.parse(colorSettings));
  const lut = new Lut3d();
  lut.useLut(parseCubeFile(cubeText), 'tetrahedral');
  const pixelate = new Pixelate();
  pixelate.configure(pixelateParams.parse({ blockSize: 16 }));
  const vignette = new Vignette();
  vignette.configure(vignetteParams.parse({ strength: 0.5 }));
  const grain = new Grain();
  grain.configure(grainParams.parse({ amount: 0.3 }));
  const cases: [string, Transform<unknown>, string][] = [
    ['color', color as Transform<unknown>, `eq=brightness=${colorSettings.brightness}:contrast=${colorSettings.contrast}:saturation=${colorSettings.saturation}:gamma=${colorSettings.gamma}`],
    ['lut3d (33³, tetrahedral)', lut as Transform<unknown>, `lut3d=file=${cubeFile}:interp=tetrahedral`],
    // ffmpeg 5.1 has no pixelize: area-average down, nearest-neighbour up is the equivalent.
    ['pixelate (16 px)', pixelate as Transform<unknown>, `scale=iw/16:ih/16:flags=area,scale=${width}:${height}:flags=neighbor`],
    ['vignette', vignette as Transform<unknown>, 'vignette=angle=PI/4'],
    ['grain', grain as Transform<unknown>, 'noise=alls=12:allf=t'],
  ];
  for (const [name, transform, filter] of cases) {
    const livefxMs = timeOurs(transform, input, width, height);
    const ffmpegMs = timeFfmpeg(filter, width, height);
    const row = { size: `${width}x${height}`, transform: name, livefxMs: round(livefxMs), ffmpegMs: round(ffmpegMs), ratio: round(livefxMs / ffmpegMs) };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
// The whole chain issue 4 names, on 720p, against ffmpeg's equivalent graph in the same run.
{
  const [width, height] = [1280, 720];
  const logo = path.join(dir, 'logo.png');
  spawnSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red@0.6:s=256x128,format=rgba', '-frames:v', '1', logo]);
  const font = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
  const chain = new Chain();
  const color = new Color();
  color.configure(colorParams.parse(colorSettings));
  const lut = new Lut3d();
  lut.useLut(parseCubeFile(cubeText), 'tetrahedral');
  const text = new Text();
  text.configure(textParams.parse({ text: 'Live from the studio', style: 'lower-third' }));
  const image = new ImageOverlay();
  image.configure(imageParams.parse({ file: logo, position: 'top-left', scale: 0.2 }));
  chain.replace([color, lut, text, image, new Label()].map((transform) => ({ transform: transform as Transform<unknown>, enabled: true })));
  const chainTransform = { name: 'chain', params: colorParams, heavy: false, configure() {}, close() {}, apply: (frame: I420Frame, clock: { frameIndex: number; frameIntervalMs: number }) => chain.apply(frame, clock) } as unknown as Transform<unknown>;
  const input = testFrame(width, height);
  const livefxMs = timeOurs(chainTransform, input, width, height);
  const graph = [
    `eq=brightness=${colorSettings.brightness}:contrast=${colorSettings.contrast}:saturation=${colorSettings.saturation}:gamma=${colorSettings.gamma}`,
    `lut3d=file=${cubeFile}:interp=tetrahedral`,
    `drawtext=fontfile=${font}:text='Live from the studio':fontsize=36:fontcolor=white:box=1:boxcolor=black@0.6:x=51:y=562[graded];movie=${logo}[logo];[graded][logo]overlay=51:29`,
    `drawtext=fontfile=${font}:text='AI-processed':fontsize=25:fontcolor=white:box=1:boxcolor=black@0.7:x=w-tw-60:y=29`,
  ].join(',');
  const ffmpegMs = timeFfmpeg(graph, width, height);
  const row = { size: `${width}x${height}`, transform: 'chain: color + lut3d + text + image + label', livefxMs: round(livefxMs), ffmpegMs: round(ffmpegMs), ratio: round(livefxMs / ffmpegMs) };
  rows.push(row);
  console.log(JSON.stringify(row));
}
rmSync(dir, { recursive: true, force: true });

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const result = {
  benchmark: 'per-transform time per frame, one core',
  date: new Date().toISOString(),
  method: 'livefx: median of apply() over 60 frames; ffmpeg: (CPU time with filter − without) / 150 frames, -threads 1 -filter_threads 1, yuv420p in and out',
  rows,
  targets: { chainMsAt720p: 8, ratioToFfmpeg: 0.5 },
};
console.log(JSON.stringify(result, null, 2));
await writeResult(path.join(projectRoot, 'benchmarks', 'results'), 'transforms', result, {
  title: 'Per-transform ms per frame (one core): livefx vs ffmpeg',
  unit: 'ms per frame',
  groups: rows.map((row) => ({ label: `${row.transform.split(/[ :]/)[0]} ${row.size.split('x')[1]}p`, values: { livefx: row.livefxMs, ffmpeg: row.ffmpegMs } })),
});
