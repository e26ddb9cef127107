import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as HumanLibrary from '@vladmandic/human';
import { MAX_FACES } from './detector-protocol.js';

const require = createRequire(import.meta.url);
const humanDist = path.dirname(require.resolve('@vladmandic/human'));
const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
/** Where BlazeFace's model files are (node_modules; nothing is fetched from the network). */
export const MODELS_DIR = path.join(humanDist, '..', 'models');

/** How tfjs's wasm backend runs: SIMD where the runtime validates it; threads never under Node (tfjs turns them off there). */
export interface WasmExecution {
  simd: boolean;
  threads: boolean;
}

let fetchInstalled = false;
/** Dawn's instance behind navigator.gpu: it must outlive every device made from it (else the process crashes). */
const dawnInstances: unknown[] = [];

/**
 * Gives tfjs's WebGPU backend a navigator.gpu in this thread from Dawn (the optional `webgpu`
 * package): the platform's GPU, or with `allowSoftware` Mesa's rasteriser in compatibility mode
 * (which tfjs, asking with no feature level, would not find). tfjs opens its own device on it: a
 * Dawn device belongs to the thread that made it, so the chain's GPU device cannot be lent.
 * Returns why it cannot, or undefined once installed.
 */
export async function installTfjsWebgpu(options: { allowSoftware: boolean }): Promise<string | undefined> {
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (error) {
    return `the optional package webgpu does not load here (${error instanceof Error ? error.message : String(error)})`;
  }
  if (options.allowSoftware) process.env.EGL_PLATFORM ??= 'surfaceless';
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create(options.allowSoftware ? ['backend=opengles'] : []);
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  const featureLevel = options.allowSoftware ? 'compatibility' : 'core';
  gpu.requestAdapter = (descriptor?: GPURequestAdapterOptions) => requestAdapter({ ...descriptor, featureLevel });
  if (!(await requestAdapter({ featureLevel }))) return options.allowSoftware ? 'no WebGPU adapter, not even the software one' : 'no hardware WebGPU adapter';
  dawnInstances.push(gpu);
  Object.defineProperty(globalThis, 'navigator', { value: { ...(globalThis.navigator ?? {}), gpu }, configurable: true });
  require('@tensorflow/tfjs-backend-webgpu');
  return undefined;
}

/** Node's fetch cannot read file:// URLs and human loads its models with fetch: read them from disk, and nothing from the network. */
function installFileFetch(): void {
  if (fetchInstalled) return;
  fetchInstalled = true;
  globalThis.fetch = async (input: string | URL | Request): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith('file:')) throw new Error(`the face detector loads models from node_modules only, not ${url}`);
    return new Response(await readFile(new URL(url)));
  };
}

/**
 * @vladmandic/human set up for BlazeFace alone on tfjs's wasm backend (face boxes only, no cache
 * between requests). `simd: false` turns SIMD off (for benchmarks); load() is the caller's.
 */
export function createBlazeFaceHuman(options: { minConfidence: number; simd?: boolean; backend?: 'wasm' | 'webgpu' }): HumanLibrary.Human {
  installFileFetch();
  // The package's exports map names its wasm build without "./", so Node cannot import it by name.
  const { Human } = require(path.join(humanDist, 'human.node-wasm.js')) as typeof HumanLibrary;
  const off = { enabled: false };
  const human = new Human({
    // webgpu only after installTfjsWebgpu(); human falls back to wasm when it cannot start it.
    backend: options.backend ?? 'wasm',
    wasmPath: `${pathToFileURL(wasmDist).href}/`,
    modelBasePath: `${pathToFileURL(MODELS_DIR).href}/`,
    debug: false,
    async: false,
    warmup: 'none',
    cacheModels: false,
    // Every request is a new frame: no result may come from human's cache of a previous one.
    cacheSensitivity: 0,
    filter: off,
    gesture: off,
    body: off,
    hand: off,
    object: off,
    segmentation: off,
    face: {
      enabled: true,
      // square: false: human's padding to a square misplaces boxes vertically on 16:9 input.
      detector: { enabled: true, rotation: false, square: false, maxDetected: MAX_FACES, minConfidence: options.minConfidence, skipFrames: 0, skipTime: 0, return: false },
      mesh: off,
      iris: off,
      description: off,
      emotion: off,
      antispoof: off,
      liveness: off,
      attention: off,
      gear: off,
    },
  });
  if (options.simd === false) human.tf.env().set('WASM_HAS_SIMD_SUPPORT', false);
  return human;
}

/** What the loaded backend runs with. */
export async function wasmExecution(human: HumanLibrary.Human): Promise<WasmExecution> {
  const env = human.tf.env();
  return { simd: (await env.getAsync('WASM_HAS_SIMD_SUPPORT')) === true, threads: (await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true };
}
