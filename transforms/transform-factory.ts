import path from 'node:path';
import type { ChainSpecEntry, TransformName } from './chain-spec.js';
import { Color } from './color.js';
import { FaceBlur } from './face-blur.js';
import { Grain } from './grain.js';
import { ImageOverlay } from './image-overlay.js';
import { Label } from './label.js';
import { Lut3d } from './lut3d.js';
import { Pixelate } from './pixelate.js';
import { Sketch } from './sketch.js';
import { Subtitles } from './subtitles/subtitles-transform.js';
import { Text } from './text.js';
import { Toon } from './toon.js';
import type { Transform, TransformReport } from './transform.js';
import type { TransformBackend } from './transform-backend.js';
import { Vignette } from './vignette.js';
import { WasmColor } from './wasm/wasm-color.js';
import { WasmGrain } from './wasm/wasm-grain.js';
import { WasmKernels } from './wasm/wasm-kernels.js';
import { WasmLut3d } from './wasm/wasm-lut3d.js';
import { WasmPixelate } from './wasm/wasm-pixelate.js';
import { WasmSketch } from './wasm/wasm-sketch.js';
import { WasmToon } from './wasm/wasm-toon.js';
import { WasmVignette } from './wasm/wasm-vignette.js';
import { WebgpuColor } from './webgpu/webgpu-color.js';
import { WebgpuDevice } from './webgpu/webgpu-device.js';
import { WebgpuGrain } from './webgpu/webgpu-grain.js';
import { WebgpuLut3d } from './webgpu/webgpu-lut3d.js';
import { WebgpuPixelate } from './webgpu/webgpu-pixelate.js';
import { WebgpuVignette } from './webgpu/webgpu-vignette.js';

/** Folders that file names in transform parameters are resolved in. */
export interface AssetFolders {
  lutDir: string;
  imageDir: string;
}

/** Configures a transform with parameters checked by its own schema. */
function configured<P>(transform: Transform<P>, params: unknown): Transform<unknown> {
  transform.configure(transform.params.parse(params));
  return transform as Transform<unknown>;
}

const inFolder = (folder: string) => (name: string) => path.join(folder, path.basename(name));

/**
 * `kernels` is given when the chain runs on the wasm backend, and on the webgpu one for transforms
 * without a GPU kernel (where the runtime has WebAssembly SIMD); `device` on the webgpu backend.
 */
type TransformFactory = (params: unknown, folders: AssetFolders, report: TransformReport | undefined, kernels: WasmKernels | undefined, device: WebgpuDevice | undefined) => Transform<unknown>;

const factories: Record<TransformName, TransformFactory> = {
  color: (params, _folders, _report, kernels, device) => configured(device ? new WebgpuColor({ device }) : kernels ? new WasmColor({ kernels }) : new Color(), params),
  lut3d: (params, folders, _report, kernels, device) =>
    configured(device ? new WebgpuLut3d({ device, resolveFile: inFolder(folders.lutDir) }) : kernels ? new WasmLut3d({ kernels, resolveFile: inFolder(folders.lutDir) }) : new Lut3d(inFolder(folders.lutDir)), params),
  text: (params, _folders, _report, kernels, device) => configured(new Text({ kernels, device }), params),
  label: (params, _folders, _report, kernels, device) => configured(new Label({ kernels, device }), params),
  image: (params, folders, _report, kernels, device) => configured(new ImageOverlay(inFolder(folders.imageDir), { kernels, device }), params),
  pixelate: (params, _folders, _report, kernels, device) => configured(device ? new WebgpuPixelate({ device }) : kernels ? new WasmPixelate({ kernels }) : new Pixelate(), params),
  vignette: (params, _folders, _report, kernels, device) => configured(device ? new WebgpuVignette({ device }) : kernels ? new WasmVignette({ kernels }) : new Vignette(), params),
  grain: (params, _folders, _report, kernels, device) => configured(device ? new WebgpuGrain({ device }) : kernels ? new WasmGrain({ kernels }) : new Grain(), params),
  toon: (params, _folders, _report, kernels) => configured(kernels ? new WasmToon({ kernels }) : new Toon(), params),
  sketch: (params, _folders, _report, kernels) => configured(kernels ? new WasmSketch({ kernels }) : new Sketch(), params),
  // BlazeFace goes to tfjs's WebGPU backend only beside a hardware GPU: on the software adapter a detection costs 7× the CPU of wasm.
  'face-blur': (params, _folders, report, kernels, device) => configured(new FaceBlur(report, kernels, device !== undefined && !device.software), params),
  subtitles: (params) => configured(new Subtitles(), params),
};

/**
 * Builds and configures the transform a spec entry names, on `backend` (the TypeScript reference
 * unless told otherwise; `wasm` uses this thread's WasmKernels, `webgpu` this thread's WebgpuDevice).
 * May throw (e.g. a malformed .cube file, no GPU adapter).
 */
export function createTransform(entry: ChainSpecEntry, folders: AssetFolders, report?: TransformReport, backend: TransformBackend = 'js'): Transform<unknown> {
  const device = backend === 'webgpu' ? WebgpuDevice.forThisThread() : undefined;
  const kernels = backend === 'wasm' || (backend === 'webgpu' && WasmKernels.supported()) ? WasmKernels.forThisThread() : undefined;
  return factories[entry.name](entry.params, folders, report, kernels, device);
}
