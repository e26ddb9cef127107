import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { differingBytes, patternFrame as pattern, writeCubeFile, writeLogoFile, KERNEL_FRAME_SIZES } from './helpers/kernel-frames.js';
import { Chain } from '../transforms/chain.js';
import { chainSpecSchema, type ChainSpecEntry } from '../transforms/chain-spec.js';
import { I420Frame, type Frame } from '../transforms/frame.js';
import { createTransform } from '../transforms/transform-factory.js';
import { resolveTransformBackend } from '../transforms/transform-backend.js';
import { WasmHeap } from '../transforms/wasm/wasm-heap.js';
import { WasmKernels } from '../transforms/wasm/wasm-kernels.js';
import { WasmRegionBlur } from '../transforms/wasm/wasm-region-blur.js';
import { RegionBlur } from '../transforms/face-detection/region-blur.js';

// The WebAssembly SIMD kernels against the TypeScript reference kernels, byte for byte, on real
// frames (ffmpeg's testsrc2) of even, odd and tiny sizes; frames both in the kernels' memory (the
// live path, in place) and elsewhere (staged).

const dir = mkdtempSync(path.join(tmpdir(), 'livefx-wasm-'));
const folders = { lutDir: dir, imageDir: dir };
const SIZES = KERNEL_FRAME_SIZES;

const lut = writeCubeFile(dir, 'grade.cube', 17);
const logo = writeLogoFile(dir, 'logo.png');

/** Each kernel with parameters that exercise its paths (identity planes skipped, edges, clamping). */
const CASES: { label: string; entry: unknown }[] = [
  { label: 'color: contrast, saturation, gamma, temperature', entry: { name: 'color', params: { brightness: 0.05, contrast: 1.3, saturation: 1.6, gamma: 1.2, temperature: 0.4, tint: -0.2 } } },
  { label: 'color: luma only', entry: { name: 'color', params: { contrast: 2.5, brightness: -0.3 } } },
  { label: 'lut3d tetrahedral', entry: { name: 'lut3d', params: { file: lut } } },
  { label: 'lut3d trilinear at 0.6', entry: { name: 'lut3d', params: { file: lut, interp: 'trilinear', strength: 0.6 } } },
  { label: 'lut3d nearest', entry: { name: 'lut3d', params: { file: lut, interp: 'nearest' } } },
  { label: 'pixelate 16', entry: { name: 'pixelate', params: { blockSize: 16 } } },
  { label: 'pixelate 2', entry: { name: 'pixelate', params: { blockSize: 2 } } },
  { label: 'pixelate 37 (odd: 36)', entry: { name: 'pixelate', params: { blockSize: 37 } } },
  { label: 'pixelate 128', entry: { name: 'pixelate', params: { blockSize: 128 } } },
  { label: 'vignette', entry: { name: 'vignette', params: { strength: 0.9, radius: 0.3 } } },
  { label: 'grain', entry: { name: 'grain', params: { amount: 1, seed: 7 } } },
  { label: 'grain, light', entry: { name: 'grain', params: { amount: 0.3, seed: 123456 } } },
  { label: 'toon, full resolution', entry: { name: 'toon', params: { resolution: 'full', smoothing: 3, levels: 6 } } },
  { label: 'toon, half resolution', entry: { name: 'toon', params: { resolution: 'half' } } },
  { label: 'toon, no smoothing', entry: { name: 'toon', params: { resolution: 'full', smoothing: 0, edgeThreshold: 8 } } },
  { label: 'sketch, full resolution', entry: { name: 'sketch', params: { resolution: 'full', blur: 9, strength: 0.8, paper: 0.7, seed: 5 } } },
  { label: 'sketch, half resolution', entry: { name: 'sketch', params: { resolution: 'half' } } },
  { label: 'image top-right at half opacity', entry: { name: 'image', params: { file: logo, position: 'top-right', scale: 0.3, opacity: 0.5 } } },
  { label: 'image centre, wider than small frames', entry: { name: 'image', params: { file: logo, position: 'center', scale: 1 } } },
  { label: 'text ticker', entry: { name: 'text', params: { text: 'Live from the wasm backend — 0123456789', style: 'ticker', tickerSpeed: 0.9 } } },
  { label: 'text lower third', entry: { name: 'text', params: { text: 'Lower third', style: 'lower-third', fontSize: 0.1 } } },
  { label: 'label', entry: { name: 'label', params: { corner: 'bottom-left' } } },
];

function entryOf(entry: unknown): ChainSpecEntry {
  return chainSpecSchema.parse({ transforms: [entry] }).transforms[0]!;
}

/** Applies `entry` on `backend` to the frame for the given frame indices. */
function run(entry: ChainSpecEntry, backend: 'js' | 'wasm', frame: Frame, frameIndices: number[]): void {
  const transform = createTransform(entry, folders, undefined, backend);
  try {
    for (const frameIndex of frameIndices) transform.apply(frame, { frameIndex, frameIntervalMs: 33 });
  } finally {
    transform.close();
  }
}

describe('WebAssembly SIMD kernels', () => {
  const kernels = WasmKernels.forThisThread();

  it('run here: auto picks wasm on a runtime with WebAssembly SIMD', () => {
    expect(WasmKernels.supported()).toBe(true);
    expect(resolveTransformBackend('auto')).toBe('wasm');
    expect(resolveTransformBackend('js')).toBe('js');
  });

  for (const { label, entry } of CASES) {
    it(`${label}: the same bytes as the TypeScript reference at every size, in place and staged`, () => {
      const parsed = entryOf(entry);
      const frameIndices = parsed.name === 'grain' || parsed.name === 'text' ? [0, 1, 57, 400] : [0];
      // One transform per backend for every size (a .cube takes a while to re-index).
      const reference = createTransform(parsed, folders, undefined, 'js');
      const wasm = createTransform(parsed, folders, undefined, 'wasm');
      const applyAll = (transform: typeof wasm, frame: Frame): void => {
        for (const frameIndex of frameIndices) transform.apply(frame, { frameIndex, frameIntervalMs: 33 });
      };
      try {
        for (const [width, height] of SIZES) {
          const expected = pattern(width, height);
          const original = Buffer.from(expected.buffer);
          applyAll(reference, expected);
          const inMemory = pattern(width, height, kernels.allocateFrame(width, height));
          const elsewhere = pattern(width, height);
          try {
            applyAll(wasm, inMemory);
            applyAll(wasm, elsewhere);
            expect(differingBytes(inMemory.buffer, expected.buffer), `${width}x${height} in place`).toBe(0);
            expect(differingBytes(elsewhere.buffer, expected.buffer), `${width}x${height} staged`).toBe(0);
          } finally {
            kernels.releaseFrame(inMemory);
          }
          // The reference must have changed the big frames, or the comparison proves nothing.
          if (width >= 641) expect(differingBytes(original, expected.buffer), `${label} changes a ${width}x${height} frame`).toBeGreaterThan(200);
        }
      } finally {
        reference.close();
        wasm.close();
      }
    });
  }

  it('a chain on the wasm backend reports it per transform and matches the reference chain', () => {
    const spec = chainSpecSchema.parse({ transforms: CASES.slice(0, 4).map((c) => c.entry).concat([{ name: 'image', params: { file: logo } }, { name: 'label', params: {} }]) });
    const stats: Record<string, unknown[]> = {};
    const frames: Record<string, I420Frame> = {};
    for (const backend of ['js', 'wasm'] as const) {
      const chain = new Chain(undefined, { adaptive: false });
      chain.replace(spec.transforms.map((entry) => ({ transform: createTransform(entry, folders, undefined, backend), enabled: true })));
      const frame = backend === 'wasm' ? pattern(1280, 720, kernels.allocateFrame(1280, 720)) : pattern(1280, 720);
      chain.apply(frame, { frameIndex: 3, frameIntervalMs: 33 });
      stats[backend] = chain.stats().transforms.map((timing) => timing.backend);
      frames[backend] = frame;
      chain.close();
    }
    expect(stats.js).toEqual(['js', 'js', 'js', 'js', 'js', 'js']);
    expect(stats.wasm).toEqual(['wasm', 'wasm', 'wasm', 'wasm', 'wasm', 'wasm']);
    expect(differingBytes(frames.wasm!.buffer, frames.js!.buffer)).toBe(0);
    kernels.releaseFrame(frames.wasm!);
  });

  it('closing transforms gives their memory back', () => {
    const before = kernels.heap.usedBytes;
    for (let round = 0; round < 2; round++) {
      const frame = kernels.allocateFrame(641, 361);
      for (const { entry } of CASES) if (round === 0 || entryOf(entry).name !== 'lut3d') run(entryOf(entry), 'wasm', frame, [round]);
      kernels.releaseFrame(frame);
    }
    expect(kernels.heap.usedBytes).toBe(before);
  });
});

describe("face-blur's region blur in WebAssembly", () => {
  const kernels = WasmKernels.forThisThread();
  // [left, top, right, bottom, radius, ellipse] per frame size: the frame's corners and odd edges, and
  // radii that run at full size (2, 5, 7) and shrunk by 2, 3 and 4 (8, 13, 40), plus regions too small to shrink.
  const REGIONS: Record<string, [number, number, number, number, number, boolean][]> = {
    '1280x720': [
      [0, 0, 260, 300, 40, true],
      [1000, 430, 1280, 720, 13, false],
      [600, 100, 742, 330, 8, true],
      [20, 600, 90, 720, 5, false],
    ],
    '641x361': [
      [500, 250, 641, 361, 13, true],
      [0, 300, 77, 361, 9, false],
      [320, 0, 641, 120, 40, false],
      [10, 10, 24, 20, 40, true],
    ],
    '33x17': [
      [0, 0, 33, 17, 7, false],
      [30, 14, 33, 17, 2, false],
      [4, 2, 20, 16, 8, true],
    ],
  };

  for (const [size, regions] of Object.entries(REGIONS)) {
    it(`${size}: the same bytes as the TypeScript region blur, regions at the edges, in place and staged`, () => {
      const [width, height] = size.split('x').map(Number) as [number, number];
      const reference = new RegionBlur();
      const wasm = new WasmRegionBlur({ kernels });
      reference.reserve(width, height);
      wasm.reserve(width, height);
      const expected = pattern(width, height);
      const original = Buffer.from(expected.buffer);
      const inMemory = pattern(width, height, kernels.allocateFrame(width, height));
      const elsewhere = pattern(width, height);
      try {
        for (const [left, top, right, bottom, radius, ellipse] of regions) {
          reference.hide(expected, 'blur', left, top, right, bottom, radius, ellipse);
          wasm.hide(inMemory, 'blur', left, top, right, bottom, radius, ellipse);
          wasm.hide(elsewhere, 'blur', left, top, right, bottom, radius, ellipse);
          const where = `${size} region ${left},${top}–${right},${bottom} radius ${radius}`;
          expect(differingBytes(inMemory.buffer, expected.buffer), `${where} in place`).toBe(0);
          expect(differingBytes(elsewhere.buffer, expected.buffer), `${where} staged`).toBe(0);
        }
        // The regions must have been blurred, or the comparison proves nothing.
        expect(differingBytes(original, expected.buffer)).toBeGreaterThan(width >= 641 ? 10_000 : 100);
      } finally {
        kernels.releaseFrame(inMemory);
        wasm.close();
      }
    });
  }

  it('a face-blur on the wasm backend reports it, and gives its memory back when closed', () => {
    const before = kernels.heap.usedBytes;
    const frame = pattern(641, 361, kernels.allocateFrame(641, 361));
    const withFrame = kernels.heap.usedBytes;
    const wasm = createTransform(entryOf({ name: 'face-blur', params: {} }), folders, () => {}, 'wasm');
    const reference = createTransform(entryOf({ name: 'face-blur', params: {} }), folders, () => {}, 'js');
    try {
      expect([wasm.backend, reference.backend]).toEqual(['wasm', 'js']);
      wasm.apply(frame, { frameIndex: 1, frameIntervalMs: 33 });
      expect(kernels.heap.usedBytes).toBeGreaterThan(withFrame);
    } finally {
      wasm.close();
      reference.close();
      kernels.releaseFrame(frame);
    }
    expect(kernels.heap.usedBytes).toBe(before);
  });
});

describe('WasmHeap', () => {
  it('reuses released blocks, merges neighbours and grows the memory without detaching earlier views', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 64, shared: true });
    const heap = new WasmHeap({ memory, base: 0, maximumPages: 64 });
    const a = heap.allocate(1000);
    const b = heap.allocate(1000);
    const c = heap.allocate(1000);
    const view = new Uint8Array(memory.buffer, a, 1000);
    view.fill(9);
    heap.release(b);
    expect(heap.allocate(900)).toBe(b);
    heap.release(b);
    heap.release(c);
    // b and c merged (and given back to the top): a block of their size fits where b was.
    expect(heap.allocate(2000)).toBe(b);
    const big = heap.allocate(200_000);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(big + 200_000);
    expect(view[999]).toBe(9);
    expect(() => heap.allocate(64 * 65536)).toThrow(/memory is full/);
  });
});
