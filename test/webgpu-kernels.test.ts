import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBuiltCli } from './helpers/cli-run.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { differingBytes, largestDifference, patternFrame, writeCubeFile, writeLogoFile, KERNEL_FRAME_SIZES } from './helpers/kernel-frames.js';
import { Chain } from '../transforms/chain.js';
import { chainSpecSchema, type ChainSpecEntry } from '../transforms/chain-spec.js';
import { createTransform } from '../transforms/transform-factory.js';
import { resolveTransformBackend } from '../transforms/transform-backend.js';
import { WebgpuDevice } from '../transforms/webgpu/webgpu-device.js';

// The WGSL kernels against the TypeScript reference on real frames (ffmpeg's testsrc2) of even, odd
// and tiny sizes. Without a GPU they run on Mesa's software rasteriser through Dawn's OpenGL ES
// backend, which checks correctness, not speed. Where no adapter exists at all, the tests are
// skipped with the reason in their name and on stderr.

const dir = mkdtempSync(path.join(tmpdir(), 'livefx-webgpu-'));
const folders = { lutDir: dir, imageDir: dir };
const SIZES = KERNEL_FRAME_SIZES;
const lut = writeCubeFile(dir, 'grade33.cube', 33);
const logo = writeLogoFile(dir, 'logo.png');

let device: WebgpuDevice | undefined;
let unavailable: string | undefined;
try {
  device = WebgpuDevice.forThisThread();
} catch (error) {
  unavailable = error instanceof Error ? error.message : String(error);
  process.stderr.write(`webgpu-kernels: skipped, ${unavailable}\n`);
}

const CASES: { label: string; entry: unknown }[] = [
  { label: 'color: contrast, saturation, gamma, temperature', entry: { name: 'color', params: { brightness: 0.05, contrast: 1.3, saturation: 1.6, gamma: 1.2, temperature: 0.4, tint: -0.2 } } },
  { label: 'color: luma only', entry: { name: 'color', params: { contrast: 2.5, brightness: -0.3 } } },
  { label: 'lut3d 33³ trilinear', entry: { name: 'lut3d', params: { file: lut, interp: 'trilinear' } } },
  { label: 'lut3d 33³ tetrahedral at 0.6', entry: { name: 'lut3d', params: { file: lut, strength: 0.6 } } },
  { label: 'lut3d 33³ nearest', entry: { name: 'lut3d', params: { file: lut, interp: 'nearest' } } },
  { label: 'vignette', entry: { name: 'vignette', params: { strength: 0.9, radius: 0.3 } } },
  { label: 'grain', entry: { name: 'grain', params: { amount: 1, seed: 7 } } },
  { label: 'pixelate 16', entry: { name: 'pixelate', params: { blockSize: 16 } } },
  { label: 'pixelate 2', entry: { name: 'pixelate', params: { blockSize: 2 } } },
  { label: 'pixelate 37 (odd: 36)', entry: { name: 'pixelate', params: { blockSize: 37 } } },
  { label: 'pixelate 128', entry: { name: 'pixelate', params: { blockSize: 128 } } },
  { label: 'image top-right at half opacity', entry: { name: 'image', params: { file: logo, position: 'top-right', scale: 0.3, opacity: 0.5 } } },
  { label: 'image centre, wider than small frames', entry: { name: 'image', params: { file: logo, position: 'center', scale: 1 } } },
  { label: 'text ticker', entry: { name: 'text', params: { text: 'Live from the GPU — 0123456789', style: 'ticker', tickerSpeed: 0.9 } } },
  { label: 'text lower third', entry: { name: 'text', params: { text: 'Lower third', style: 'lower-third', fontSize: 0.1 } } },
  { label: 'label', entry: { name: 'label', params: { corner: 'bottom-left' } } },
];
/** Kernels whose output changes with the frame number: grain's noise offset, a ticker's scroll. */
const MOVING = new Set(['grain', 'text']);

function entryOf(entry: unknown): ChainSpecEntry {
  return chainSpecSchema.parse({ transforms: [entry] }).transforms[0]!;
}

const clock = { frameIndex: 0, frameIntervalMs: 33 };

describe.skipIf(device === undefined)(`WGSL kernels on WebGPU${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it(`opens a device: ${device?.adapter ?? 'none'}`, () => {
    expect(device!.adapter.length).toBeGreaterThan(0);
    expect(resolveTransformBackend('webgpu')).toBe('webgpu');
    // auto never picks a software adapter: it is slower than the WebAssembly kernels.
    if (device!.software) expect(resolveTransformBackend('auto')).not.toBe('webgpu');
  });

  for (const { label, entry } of CASES) {
    it(`${label}: within 1 code value of the TypeScript reference at every size`, () => {
      const parsed = entryOf(entry);
      const frameIndices = MOVING.has(parsed.name) ? [0, 1, 57] : [0];
      const reference = createTransform(parsed, folders, undefined, 'js');
      const gpu = createTransform(parsed, folders, undefined, 'webgpu');
      expect(gpu.backend).toBe('webgpu');
      try {
        for (const [width, height] of SIZES) {
          const expected = patternFrame(width, height);
          const original = Buffer.from(expected.buffer);
          const actual = patternFrame(width, height);
          for (const frameIndex of frameIndices) {
            const before = Buffer.from(actual.buffer);
            reference.apply(expected, { frameIndex, frameIntervalMs: 33 });
            gpu.apply(actual, { frameIndex, frameIntervalMs: 33 });
            // apply() only queues the kernel: the pixels change at the flush (the chain's job).
            expect(differingBytes(actual.buffer, before), `${width}x${height} before the flush`).toBe(0);
            gpu.batch!.flush();
            expect(largestDifference(actual.buffer, expected.buffer), `${width}x${height}, frame ${frameIndex}`).toBeLessThanOrEqual(1);
          }
          // The reference must have changed the big frames, or the comparison proves nothing.
          if (width >= 641) expect(differingBytes(original, expected.buffer), `${label} changes a ${width}x${height} frame`).toBeGreaterThan(200);
        }
      } finally {
        reference.close();
        gpu.close();
      }
    });
  }

  it('a chain keeps consecutive GPU transforms on the GPU (one round trip per run), reports backends, and matches the reference chain', () => {
    // subtitles (no captions here: it changes nothing) runs on the CPU whatever the backend, so it splits the GPU transforms into two runs.
    const spec = chainSpecSchema.parse({
      transforms: [
        CASES[0]!.entry,
        CASES[2]!.entry,
        { name: 'image', params: { file: logo, scale: 0.2 } },
        { name: 'subtitles', params: {} },
        { name: 'pixelate', params: { blockSize: 8 } },
        { name: 'text', params: { text: 'after the CPU transform', style: 'lower-third' } },
        { name: 'label', params: {} },
      ],
    });
    const results: Record<string, { frame: Buffer; backends: unknown[] }> = {};
    for (const backend of ['js', 'webgpu'] as const) {
      const chain = new Chain(undefined, { adaptive: false });
      chain.replace(spec.transforms.map((entry) => ({ transform: createTransform(entry, folders, undefined, backend), enabled: true })));
      const frame = patternFrame(1280, 720);
      const roundTrips = device!.roundTrips;
      chain.apply(frame, { frameIndex: 3, frameIntervalMs: 33 });
      if (backend === 'webgpu') expect(device!.roundTrips - roundTrips, 'GPU round trips for color+lut3d+image | subtitles | pixelate+text+label').toBe(2);
      results[backend] = { frame: frame.buffer, backends: chain.stats().transforms.map((timing) => timing.backend) };
      chain.close();
    }
    expect(results.js!.backends).toEqual(['js', 'js', 'js', 'js', 'js', 'js', 'js']);
    // subtitles stays on the TypeScript kernels on every backend.
    expect(results.webgpu!.backends).toEqual(['webgpu', 'webgpu', 'webgpu', 'js', 'webgpu', 'webgpu', 'webgpu']);
    expect(largestDifference(results.webgpu!.frame, results.js!.frame)).toBeLessThanOrEqual(1);
    // Transforms without a WGSL kernel run on the WebAssembly ones in a webgpu chain.
    const toon = createTransform(entryOf({ name: 'toon', params: {} }), folders, undefined, 'webgpu');
    expect(toon.backend).toBe('wasm');
    toon.close();
  });

  it('a reconfigured transform uses its new tables from the next frame', () => {
    const transform = createTransform(entryOf(CASES[0]!.entry), folders, undefined, 'webgpu');
    const reference = createTransform(entryOf(CASES[1]!.entry), folders, undefined, 'js');
    try {
      transform.configure(transform.params.parse((CASES[1]!.entry as { params: unknown }).params));
      const actual = patternFrame(641, 361);
      const expected = patternFrame(641, 361);
      transform.apply(actual, clock);
      transform.batch!.flush();
      reference.apply(expected, clock);
      expect(largestDifference(actual.buffer, expected.buffer)).toBeLessThanOrEqual(1);
    } finally {
      transform.close();
      reference.close();
    }
  });
});

/** An image's pixels as RGB bytes, decoded by ffmpeg. */
function rgbOf(file: string): Buffer {
  const result = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(result.stderr.toString());
  return result.stdout;
}

describe('livefx render --backend', () => {
  const spec = path.join(dir, 'graded.json');
  writeFileSync(spec, JSON.stringify({ transforms: [CASES[0]!.entry, CASES[2]!.entry] }));
  const render = (backend: string, output: string) => runBuiltCli(['render', 'odd.png', '--preset', spec, '-o', output, '--backend', backend], { cwd: dir, timeoutMs: 120_000 });

  it('refuses a backend it does not know, with the usage and exit code 2', async () => {
    const run = await render('cuda', 'never.png');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--backend must be one of auto, wasm, js, webgpu \(not "cuda"\)/);
  });

  it.skipIf(device === undefined)(`renders the same picture on webgpu as on js and wasm, and says where it ran${unavailable ? ` (skipped: ${unavailable})` : ''}`, async () => {
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-vf', 'scale=321:241', path.join(dir, 'odd.png')]);
    const runs = await Promise.all(['js', 'wasm', 'webgpu'].map(async (backend) => ({ backend, run: await render(backend, `odd-${backend}.png`) })));
    for (const { backend, run } of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(new RegExp(`wrote .*odd-${backend}\\.png: 1 frame 321x241, chain [\\d.]+ ms/frame on ${backend}`));
    }
    const reference = rgbOf(path.join(dir, 'odd-js.png'));
    expect(differingBytes(reference, rgbOf(path.join(dir, 'odd.png'))), 'the grade changes the picture').toBeGreaterThan(1000);
    expect(largestDifference(rgbOf(path.join(dir, 'odd-wasm.png')), reference)).toBe(0);
    // Within 1 code value in YUV; the conversion to RGB can spread that to a few.
    expect(largestDifference(rgbOf(path.join(dir, 'odd-webgpu.png')), reference)).toBeLessThanOrEqual(3);
  }, 240_000);
});
