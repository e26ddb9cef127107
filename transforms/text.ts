import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import { TextOverlay } from './text-overlay.js';
import type { OverlayBackendOptions } from './overlay-raster.js';
import type { Transform, TransformBackendName } from './transform.js';
import type { WebgpuDevice } from './webgpu/webgpu-device.js';

const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #ffcc00');
const hexColorWithAlpha = z.string().regex(/^(#[0-9a-fA-F]{8})?$/, 'must be a colour with alpha like #00000099, or empty for no box');

export const textParams = z
  .object({
    text: z.string().max(300).default(''),
    style: z.enum(['title', 'lower-third', 'ticker']).default('lower-third'),
    /** Text height as a fraction of the frame height. */
    fontSize: z.number().min(0.02).max(0.2).default(0.05),
    color: hexColor.default('#ffffff'),
    background: hexColorWithAlpha.default('#000000a0'),
    /** Ticker speed in frame widths per second. */
    tickerSpeed: z.number().min(0.01).max(1).default(0.15),
  })
  .strict();
export type TextParams = z.infer<typeof textParams>;

/** Titles, lower thirds and a scrolling ticker, drawn with @napi-rs/canvas only when they change. */
export class Text implements Transform<TextParams> {
  readonly name = 'text';
  readonly params = textParams;
  readonly heavy = false;
  readonly overlay: TextOverlay;
  readonly backend: TransformBackendName;
  /** The GPU device on the webgpu backend: the blend is queued there and runs at the chain's flush. */
  readonly batch: WebgpuDevice | undefined;

  constructor(options: OverlayBackendOptions = {}) {
    this.overlay = new TextOverlay(options);
    this.backend = options.device ? 'webgpu' : options.kernels ? 'wasm' : 'js';
    this.batch = options.device;
  }

  configure(params: TextParams): void {
    this.overlay.setStyle({ text: params.text, placement: params.style, fontSize: params.fontSize, color: params.color, background: params.background, tickerSpeed: params.tickerSpeed });
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
