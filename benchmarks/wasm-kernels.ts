// The WebAssembly SIMD kernels against the TypeScript reference kernels and ffmpeg's equivalent
// filter (one thread), per 720p and 1080p frame, in the same run; then the chain color + lut3d +
// text + image + label at 720p on every backend. CPU time, so the machine's other load counts less;
// the load average is recorded beside the figures. The WGSL kernels (webgpu) run where an adapter
// opens — a GPU, else Mesa's software rasteriser, named in the result — and are timed by wall clock
// per frame including upload and readback, with the process's CPU time beside it.
//
//   npm run bench:wasm                       # results/wasm-kernels.{json,svg}; webgpu on whatever adapter opens
//   npm run bench:wasm -- --require-gpu      # on a GPU machine: refuses a software adapter, writes results/webgpu-kernels.{json,svg}
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Chain } from '../transforms/chain.js';
import { chainSpecSchema } from '../transforms/chain-spec.js';
import { I420Frame } from '../transforms/frame.js';
import type { Transform } from '../transforms/transform.js';
import type { TransformBackend } from '../transforms/transform-backend.js';
import { createTransform } from '../transforms/transform-factory.js';
import { RegionBlur } from '../transforms/face-detection/region-blur.js';
import { WasmKernels } from '../transforms/wasm/wasm-kernels.js';
import { WasmRegionBlur } from '../transforms/wasm/wasm-region-blur.js';
import { WebgpuDevice } from '../transforms/webgpu/webgpu-device.js';
import { writeResult } from './bar-chart.js';
import { gradeCube, writeLogo } from './bench-assets.js';
import { round, stylizationGraphs, testFrame, timeFfmpeg, timeOurs } from './transform-timing.js';

const SIZES: [number, number][] = [
  [1280, 720],
  [1920, 1080],
];
const BACKENDS: TransformBackend[] = ['js', 'wasm'];
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const dir = mkdtempSync(path.join(tmpdir(), 'livefx-bench-wasm-'));
writeFileSync(path.join(dir, 'grade.cube'), gradeCube(33));
writeLogo(path.join(dir, 'logo.png'));
const folders = { lutDir: dir, imageDir: dir };
const kernels = WasmKernels.forThisThread();
/** The GPU, or why there is none (the result says which). */
const gpu = openGpu();
/** --require-gpu: a run meant for a GPU machine, so a software adapter or none is an error, and its figures go to their own file. */
const requireGpu = process.argv.includes('--require-gpu');
if (requireGpu && (!('device' in gpu) || gpu.software)) {
  console.error(`wasm-kernels: --require-gpu, but ${'device' in gpu ? `only a software adapter opened (${gpu.adapter})` : gpu.unavailable}`);
  process.exit(1);
}
/** Kernels with a WGSL version; the others run on wasm in a webgpu chain. */
const GPU_KERNELS = new Set(['color', 'lut3d', 'pixelate', 'vignette', 'grain', 'image (overlay blend)', 'text (overlay blend)']);

function openGpu(): { device: WebgpuDevice; adapter: string; software: boolean } | { unavailable: string } {
  try {
    const device = WebgpuDevice.forThisThread();
    return { device, adapter: device.adapter, software: device.software };
  } catch (error) {
    return { unavailable: error instanceof Error ? error.message : String(error) };
  }
}
const color = { brightness: 0.05, contrast: 1.2, saturation: 1.3, gamma: 1.1 };
const eq = `eq=brightness=${color.brightness}:contrast=${color.contrast}:saturation=${color.saturation}:gamma=${color.gamma}`;

/** Each kernel's chain entry and ffmpeg's nearest filter graph (the same ones as benchmarks/transforms.ts). */
function kernelCases(width: number, height: number): { name: string; entry: unknown; ffmpeg: string }[] {
  const logoWidth = Math.round(width * 0.2);
  const stylization = stylizationGraphs(width, height);
  return [
    { name: 'color', entry: { name: 'color', params: color }, ffmpeg: eq },
    { name: 'lut3d', entry: { name: 'lut3d', params: { file: 'grade.cube' } }, ffmpeg: `lut3d=file=${path.join(dir, 'grade.cube')}:interp=tetrahedral` },
    { name: 'pixelate', entry: { name: 'pixelate', params: { blockSize: 16 } }, ffmpeg: `scale=iw/16:ih/16:flags=area,scale=${width}:${height}:flags=neighbor` },
    { name: 'vignette', entry: { name: 'vignette', params: { strength: 0.5 } }, ffmpeg: 'vignette=angle=PI/4' },
    { name: 'grain', entry: { name: 'grain', params: { amount: 0.3 } }, ffmpeg: 'noise=alls=12:allf=t' },
    { name: 'toon', entry: { name: 'toon', params: { resolution: 'full' } }, ffmpeg: stylization.toon },
    { name: 'toon@half', entry: { name: 'toon', params: { resolution: 'half' } }, ffmpeg: stylization.toonHalf },
    { name: 'sketch', entry: { name: 'sketch', params: { resolution: 'full' } }, ffmpeg: stylization.sketch },
    { name: 'sketch@half', entry: { name: 'sketch', params: { resolution: 'half' } }, ffmpeg: stylization.sketchHalf },
    {
      name: 'image (overlay blend)',
      entry: { name: 'image', params: { file: 'logo.png', scale: 0.2 } },
      ffmpeg: `null[base];movie=${path.join(dir, 'logo.png')},scale=${logoWidth}:-2[logo];[base][logo]overlay=${Math.round(width * 0.04)}:${Math.round(height * 0.04)}`,
    },
    {
      name: 'text (overlay blend)',
      entry: { name: 'text', params: { text: 'Live from the studio', style: 'lower-third' } },
      ffmpeg: `drawtext=fontfile=${FONT}:text='Live from the studio':fontsize=${Math.round(height * 0.05)}:fontcolor=white:box=1:boxcolor=black@0.6:x=${Math.round(width * 0.04)}:y=${Math.round(height * 0.78)}`,
    },
  ];
}

/**
 * face-blur's region blur on two face-sized boxes (radius as FaceBlur picks it at strength 0.7, ellipses),
 * and ffmpeg's boxblur (3 passes, the same radii) on the same boxes, cropped and overlaid back.
 */
function regionBlurCase(width: number, height: number): { transform: (blur: RegionBlur) => Transform<unknown>; ffmpeg: string } {
  const scale = height / 720;
  const boxes = [
    [400, 120, 640, 420],
    [800, 200, 960, 400],
  ].map((box) => box.map((value) => Math.round(value * scale) & ~1) as [number, number, number, number]);
  const radius = ([left, top, right, bottom]: [number, number, number, number]): number => Math.max(2, Math.round((0.7 * Math.min(right - left, bottom - top)) / 5));
  const apply = (blur: RegionBlur) => (frame: I420Frame): void => {
    for (const box of boxes) blur.hide(frame, 'blur', box[0], box[1], box[2], box[3], radius(box), true);
  };
  const blurred = boxes.map((box, index) => `[b${index}]crop=${box[2] - box[0]}:${box[3] - box[1]}:${box[0]}:${box[1]},boxblur=luma_radius=${radius(box)}:luma_power=3:chroma_radius=${radius(box) >> 1}:chroma_power=3[r${index}]`);
  const ffmpeg = `split=3[base][b0][b1];${blurred.join(';')};[base][r0]overlay=${boxes[0]![0]}:${boxes[0]![1]}[o0];[o0][r1]overlay=${boxes[1]![0]}:${boxes[1]![1]}`;
  return { transform: (blur) => ({ name: 'region blur', heavy: false, configure() {}, close() {}, apply: apply(blur) }) as unknown as Transform<unknown>, ffmpeg };
}

/** A frame where the backend keeps them: in the kernels' memory for wasm, as the pipeline worker allocates it. */
function frameFor(backend: TransformBackend, width: number, height: number): I420Frame {
  return backend === 'wasm' ? kernels.allocateFrame(width, height) : new I420Frame(width, height);
}

function timeOn(backend: TransformBackend, transform: Transform<unknown>, input: Buffer, width: number, height: number): number {
  const frame = frameFor(backend, width, height);
  try {
    return timeOurs(transform, input, width, height, frame);
  } finally {
    if (backend === 'wasm') kernels.releaseFrame(frame);
  }
}

/** Median wall ms and process CPU ms of apply() plus the GPU round trip (upload, kernels, readback) over the usual iterations. */
function timeGpu(transform: Transform<unknown>, input: Buffer, width: number, height: number): { wallMs: number; cpuMs: number } {
  const frame = new I420Frame(width, height);
  const walls: number[] = [];
  const cpus: number[] = [];
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  for (let index = 0; index < Number(process.env.TRANSFORM_ITERATIONS ?? 60); index++) {
    input.copy(frame.buffer);
    const cpu = process.cpuUsage();
    const start = performance.now();
    transform.apply(frame, { frameIndex: index, frameIntervalMs: 33 });
    transform.batch?.flush();
    walls.push(performance.now() - start);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1000);
  }
  return { wallMs: median(walls), cpuMs: median(cpus) };
}

const loadBefore = loadavg().map(round);
interface Row {
  size: string;
  kernel: string;
  jsMs: number;
  wasmMs: number;
  ffmpegMs: number;
  wasmToFfmpeg: number;
  wasmToJs: number;
  /** Wall ms per frame on the GPU backend incl. upload and readback; null where the kernel has no WGSL version or no adapter opened. */
  webgpuMs: number | null;
  /** The process's CPU ms meanwhile (with a software adapter this is the rasteriser's work, on every core). */
  webgpuCpuMs: number | null;
}
const rows: Row[] = [];
const recordRow = (size: string, kernel: string, times: Record<TransformBackend, number>, ffmpegMs: number, webgpu?: { wallMs: number; cpuMs: number }): void => {
  const row: Row = {
    size,
    kernel,
    jsMs: round(times.js),
    wasmMs: round(times.wasm),
    ffmpegMs: round(ffmpegMs),
    wasmToFfmpeg: round(times.wasm / ffmpegMs),
    wasmToJs: round(times.wasm / times.js),
    webgpuMs: webgpu ? round(webgpu.wallMs) : null,
    webgpuCpuMs: webgpu ? round(webgpu.cpuMs) : null,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
};
/** The same work on the GPU backend, where there is one. */
function timeOnGpu(build: () => Transform<unknown>, input: Buffer, width: number, height: number): { wallMs: number; cpuMs: number } | undefined {
  if (!('device' in gpu)) return undefined;
  const transform = build();
  try {
    return timeGpu(transform, input, width, height);
  } finally {
    transform.close();
  }
}

for (const [width, height] of SIZES) {
  const input = testFrame(width, height);
  for (const { name, entry, ffmpeg } of kernelCases(width, height)) {
    const parsed = chainSpecSchema.parse({ transforms: [entry] }).transforms[0]!;
    const times = {} as Record<TransformBackend, number>;
    for (const backend of BACKENDS) {
      const transform = createTransform(parsed, folders, undefined, backend);
      times[backend] = timeOn(backend, transform, input, width, height);
      transform.close();
    }
    const webgpu = GPU_KERNELS.has(name) ? timeOnGpu(() => createTransform(parsed, folders, undefined, 'webgpu'), input, width, height) : undefined;
    recordRow(`${width}x${height}`, name, times, timeFfmpeg(ffmpeg, width, height), webgpu);
  }
  const regions = regionBlurCase(width, height);
  const times = {} as Record<TransformBackend, number>;
  for (const backend of BACKENDS) {
    const blur = backend === 'wasm' ? new WasmRegionBlur({ kernels }) : new RegionBlur();
    blur.reserve(width, height);
    times[backend] = timeOn(backend, regions.transform(blur), input, width, height);
    blur.close();
  }
  recordRow(`${width}x${height}`, 'face-blur region blur (2 faces)', times, timeFfmpeg(regions.ffmpeg, width, height));
}

// The chain of issue 4 at 720p; its target in issue 18 is 3 ms (0.15 of ffmpeg's time).
{
  const [width, height] = [1280, 720];
  const spec = chainSpecSchema.parse({
    transforms: [
      { name: 'color', params: color },
      { name: 'lut3d', params: { file: 'grade.cube' } },
      { name: 'text', params: { text: 'Live from the studio', style: 'lower-third' } },
      { name: 'image', params: { file: 'logo.png', scale: 0.2 } },
      { name: 'label', params: {} },
    ],
  });
  const input = testFrame(width, height);
  const times = {} as Record<TransformBackend, number>;
  /** The chain as one transform (the chain flushes its GPU runs itself). */
  const chainOn = (backend: TransformBackend): Transform<unknown> => {
    const chain = new Chain(undefined, { adaptive: false });
    chain.replace(spec.transforms.map((entry) => ({ transform: createTransform(entry, folders, undefined, backend), enabled: true })));
    return { name: 'chain', heavy: false, configure() {}, close: () => chain.close(), apply: (frame: I420Frame, clock: { frameIndex: number; frameIntervalMs: number }) => chain.apply(frame, clock) } as unknown as Transform<unknown>;
  };
  for (const backend of BACKENDS) {
    const chainTransform = chainOn(backend);
    times[backend] = timeOn(backend, chainTransform, input, width, height);
    chainTransform.close();
  }
  const webgpu = timeOnGpu(() => chainOn('webgpu'), input, width, height);
  const graph = [
    eq,
    `lut3d=file=${path.join(dir, 'grade.cube')}:interp=tetrahedral`,
    `drawtext=fontfile=${FONT}:text='Live from the studio':fontsize=36:fontcolor=white:box=1:boxcolor=black@0.6:x=51:y=562[graded];movie=${path.join(dir, 'logo.png')}[logo];[graded][logo]overlay=51:29`,
    `drawtext=fontfile=${FONT}:text='AI-processed':fontsize=25:fontcolor=white:box=1:boxcolor=black@0.7:x=w-tw-60:y=29`,
  ].join(',');
  recordRow(`${width}x${height}`, 'chain: color + lut3d + text + image + label', times, timeFfmpeg(graph, width, height), webgpu);
}
rmSync(dir, { recursive: true, force: true });

const result = {
  benchmark: 'WebAssembly SIMD and WGSL (WebGPU) kernels vs the TypeScript reference vs ffmpeg, per frame',
  date: new Date().toISOString(),
  node: process.version,
  method:
    'js and wasm: median CPU time (user+system) of apply() over 60 frames (wasm frames in the kernels\' memory, as in the pipeline worker); ffmpeg: (CPU time with filter − without) / 150 frames, -threads 1 -filter_threads 1, yuv420p in and out',
  webgpuMethod:
    'webgpu: median wall time of apply() + the GPU round trip (one upload, the kernels, one readback) over the same frames, frames in ordinary memory; in the chain, all five run on the GPU in one run (one upload, one readback)',
  webgpu: 'device' in gpu ? { adapter: gpu.adapter, software: gpu.software } : { unavailable: gpu.unavailable },
  loadAverage: { before: loadBefore, after: loadavg().map(round), cores: cpus().length },
  rows,
  targets: { wasmToFfmpeg: 1, chainMsAt720p: 3, chainToFfmpeg: 0.15 },
};
await writeResult(requireGpu ? 'webgpu-kernels' : 'wasm-kernels', result, {
  title: 'ms per frame (one core): TypeScript vs WebAssembly SIMD vs ffmpeg',
  unit: 'ms per frame',
  groups: rows.map((row) => ({
    label: `${row.kernel.split(/[ :]/)[0]} ${row.size.split('x')[1]}p`,
    values: { js: row.jsMs, wasm: row.wasmMs, ffmpeg: row.ffmpegMs, ...(row.webgpuMs === null ? {} : { [gpuLabel()]: row.webgpuMs }) },
  })),
});
WebgpuDevice.closeThisThread();

/** The GPU series' name on the chart: a software adapter is labelled so. */
function gpuLabel(): string {
  return 'device' in gpu && gpu.software ? 'webgpu (software, wall)' : 'webgpu (wall)';
}
