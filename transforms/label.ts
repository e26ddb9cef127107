import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import { TextOverlay } from './text-overlay.js';
import type { OverlayBackendOptions } from './overlay-raster.js';
import type { Transform, TransformBackendName } from './transform.js';
import type { WebgpuDevice } from './webgpu/webgpu-device.js';

export const labelParams = z
  .object({
    text: z.string().min(1).max(60).default('AI-processed'),
    corner: z.enum(['top-right', 'top-left', 'bottom-right', 'bottom-left']).default('top-right'),
  })
  .strict();
export type LabelParams = z.infer<typeof labelParams>;

/** The visible disclosure that the picture is processed: a small boxed label in a corner. */
export class Label implements Transform<LabelParams> {
  readonly name = 'label';
  readonly params = labelParams;
  readonly heavy = false;
  readonly overlay: TextOverlay;
  readonly backend: TransformBackendName;
  /** The GPU device on the webgpu backend: the blend is queued there and runs at the chain's flush. */
  readonly batch: WebgpuDevice | undefined;

  /** `kernels`: blend with the WebAssembly SIMD kernel (the wasm backend). */
  constructor(options: OverlayBackendOptions = {}) {
    this.overlay = new TextOverlay(options);
    this.backend = options.device ? 'webgpu' : options.kernels ? 'wasm' : 'js';
    this.batch = options.device;
    this.configure(labelParams.parse({}));
  }

  configure(params: LabelParams): void {
    this.overlay.setStyle({ text: params.text, placement: params.corner, fontSize: 0.035, color: '#ffffff', background: '#000000b0', tickerSpeed: 0 });
  }

  apply(frame: Frame, clock: FrameClock): void {
    this.overlay.apply(frame, clock.frameIndex);
  }

  /** Where a GPU blend stands (a lost device), read by the chain's stats. */
  operatorNote(): string | undefined {
    return this.batch?.operatorNote();
  }

  close(): void {
    this.overlay.close();
  }
}
