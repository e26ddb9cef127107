import type { TransformBackendName } from './transform.js';
import { WasmKernels } from './wasm/wasm-kernels.js';

/** Where a chain's pixel kernels run: plain TypeScript (the reference) or WebAssembly SIMD. */
export type TransformBackend = TransformBackendName;
/** LIVEFX_TRANSFORM_BACKEND: `auto` is wasm wherever the runtime supports WebAssembly SIMD. */
export type TransformBackendSetting = 'auto' | TransformBackend;

/** Every value of LIVEFX_TRANSFORM_BACKEND (and of `livefx render --backend`). */
export const TRANSFORM_BACKEND_SETTINGS = ['auto', 'wasm', 'js'] as const satisfies readonly TransformBackendSetting[];

/** The backend a chain is configured with; an explicit `wasm` the runtime cannot run is an error, not a silent fallback. */
export function resolveTransformBackend(setting: TransformBackendSetting): TransformBackend {
  if (setting === 'js') return 'js';
  if (setting === 'auto') return WasmKernels.supported() ? 'wasm' : 'js';
  if (!WasmKernels.supported()) throw new Error('LIVEFX_TRANSFORM_BACKEND=wasm, but this runtime cannot run the WebAssembly SIMD kernels (or dist/transforms/wasm/livefx-kernels.wasm is missing: npm run build)');
  return 'wasm';
}
