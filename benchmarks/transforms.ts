// Per-transform cost on one core, at 640x360, 1280x720 and 1920x1080, against ffmpeg's equivalent
// filter on one filter thread in the same run. ffmpeg's figure is the CPU time of a run with the
// filter minus the same run without it (source generation and conversions cancel out).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Chain } from '../transforms/chain.js';
import { Color, colorParams } from '../transforms/color.js';
import { Grain, grainParams } from '../transforms/grain.js';
import { Pixelate, pixelateParams } from '../transforms/pixelate.js';
import { Sketch, sketchParams } from '../transforms/sketch.js';
import { Toon, toonParams } from '../transforms/toon.js';
import { Vignette, vignetteParams } from '../transforms/vignette.js';
import { ImageOverlay, imageParams } from '../transforms/image-overlay.js';
import { Label } from '../transforms/label.js';
import { Text, textParams } from '../transforms/text.js';
import { parseCubeFile } from '../transforms/cube-file.js';
import { I420Frame } from '../transforms/frame.js';
import { Lut3d } from '../transforms/lut3d.js';
import type { Transform } from '../transforms/transform.js';
import { gradeCube, writeLogo } from './bench-assets.js';
import { writeResult } from './bar-chart.js';
import { round, stylizationGraphs, testFrame, timeFfmpeg, timeOurs } from './transform-timing.js';

const SIZES: [number, number][] = [
  [640, 360],
  [1280, 720],
  [1920, 1080],
];

/**
 * toon and sketch at full and half resolution. ffmpeg's nearest graphs: bilateral smoothing,
 * lutyuv bands and a multiplied negated Sobel for toon; the colour dodge of luma with its blurred
 * negative for sketch. The half rows run the same graph between an area downscale and a bilinear upscale.
 */
function stylizationCases(width: number, height: number): [string, Transform<unknown>, string][] {
  const make = (resolution: 'full' | 'half') => {
    const toon = new Toon();
    toon.configure(toonParams.parse({ resolution }));
    const sketch = new Sketch();
    sketch.configure(sketchParams.parse({ resolution }));
    return [toon as Transform<unknown>, sketch as Transform<unknown>] as const;
  };
  const [toonFull, sketchFull] = make('full');
  const [toonHalf, sketchHalf] = make('half');
  const graphs = stylizationGraphs(width, height);
  return [
    ['toon (full resolution)', toonFull, graphs.toon],
    ['toon@half (half resolution)', toonHalf, graphs.toonHalf],
    ['sketch (full resolution)', sketchFull, graphs.sketch],
    ['sketch@half (half resolution)', sketchHalf, graphs.sketchHalf],
  ];
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
    ...stylizationCases(width, height),
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
  writeLogo(logo);
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
// What switching a grade costs: re-indexing the 33³ .cube to YUV tables (median CPU ms of 5, parsing excluded).
const lut3dConfigureMs = (() => {
  const parsed = parseCubeFile(cubeText);
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    const lut = new Lut3d();
    const start = process.cpuUsage();
    lut.useLut(parsed, 'tetrahedral');
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / 1000);
  }
  return round(times.sort((a, b) => a - b)[2]!);
})();
console.log(JSON.stringify({ lut3dConfigureMs }));

const result = {
  benchmark: 'per-transform time per frame, one core',
  date: new Date().toISOString(),
  method: 'livefx: median CPU time (user+system) of apply() over 60 frames; ffmpeg: (CPU time with filter − without) / 150 frames, -threads 1 -filter_threads 1, yuv420p in and out',
  rows,
  lut3dConfigureMs,
  targets: { chainMsAt720p: 8, ratioToFfmpeg: 0.5 },
};
await writeResult('transforms', result, {
  title: 'Per-transform ms per frame (one core): livefx vs ffmpeg',
  unit: 'ms per frame',
  groups: rows.map((row) => ({ label: `${row.transform.split(/[ :]/)[0]} ${row.size.split('x')[1]}p`, values: { livefx: row.livefxMs, ffmpeg: row.ffmpegMs } })),
});
