import type { TransformBackendName } from './transform.js';
import { WasmKernels } from './wasm/wasm-kernels.js';
import { WebgpuDevice } from './webgpu/webgpu-device.js';

/** Where a chain's pixel kernels run: plain TypeScript (the reference), WebAssembly SIMD or WGSL on the GPU. */
export type TransformBackend = TransformBackendName;
/** LIVEFX_TRANSFORM_BACKEND: `auto` is webgpu where a hardware GPU adapter exists, else wasm wherever the runtime supports WebAssembly SIMD. */
export type TransformBackendSetting = 'auto' | TransformBackend;

/** Every value of LIVEFX_TRANSFORM_BACKEND (and of `livefx render --backend`). */
export const TRANSFORM_BACKEND_SETTINGS = ['auto', 'wasm', 'js', 'webgpu'] as const satisfies readonly TransformBackendSetting[];

/**
 * The backend a chain is configured with; an explicit `wasm` or `webgpu` the machine cannot run is an
 * error, not a silent fallback. `auto` never picks a software GPU adapter (it is slower than wasm).
 */
export function resolveTransformBackend(setting: TransformBackendSetting): TransformBackend {
  if (setting === 'js') return 'js';
  if (setting === 'webgpu') {
    try {
      WebgpuDevice.forThisThread();
    } catch (error) {
      throw new Error(`LIVEFX_TRANSFORM_BACKEND=webgpu, but ${error instanceof Error ? error.message : String(error)}`);
    }
    return 'webgpu';
  }
  if (setting === 'auto') return WebgpuDevice.hardwareAvailable() ? 'webgpu' : WasmKernels.supported() ? 'wasm' : 'js';
  if (!WasmKernels.supported()) throw new Error('LIVEFX_TRANSFORM_BACKEND=wasm, but this runtime cannot run the WebAssembly SIMD kernels (or dist/transforms/wasm/livefx-kernels.wasm is missing: npm run build)');
  return 'wasm';
}
