import { readFileSync } from 'node:fs';
import { Image } from '@napi-rs/canvas';
import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import { OverlayRaster, type OverlayBackendOptions } from './overlay-raster.js';
import type { Transform, TransformBackendName } from './transform.js';
import type { WebgpuDevice } from './webgpu/webgpu-device.js';

export const imageParams = z
  .object({
    /** A PNG or JPEG file name, resolved by the owner of the transform (LIVEFX_DATA_DIR/images). */
    file: z.string().min(1),
    position: z.enum(['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center']).default('top-left'),
    /** Width as a fraction of the frame width (the height follows the image's aspect). */
    scale: z.number().min(0.02).max(1).default(0.15),
    opacity: z.number().min(0).max(1).default(1),
  })
  .strict();
export type ImageParams = z.infer<typeof imageParams>;

const MARGIN = 0.04;

/** A logo or picture with its alpha, scaled and placed on the frame, redrawn only on a change. */
export class ImageOverlay implements Transform<ImageParams> {
  readonly name = 'image';
  readonly params = imageParams;
  readonly heavy = false;
  readonly raster: OverlayRaster;
  readonly backend: TransformBackendName;
  /** The GPU device on the webgpu backend: the blend is queued there and runs at the chain's flush. */
  readonly batch: WebgpuDevice | undefined;
  private image: Image | undefined;
  private settings: ImageParams | undefined;
  private drawnFor = '';

  /** `kernels`: blend with the WebAssembly SIMD kernel (the wasm backend); `device`: on the GPU. */
  constructor(
    private readonly resolveFile: (name: string) => string = (name) => name,
    options: OverlayBackendOptions = {},
  ) {
    this.raster = new OverlayRaster(options);
    this.backend = options.device ? 'webgpu' : options.kernels ? 'wasm' : 'js';
    this.batch = options.device;
  }

  configure(params: ImageParams): void {
    const image = new Image();
    image.src = readFileSync(this.resolveFile(params.file));
    if (image.width === 0 || image.height === 0) throw new Error(`"${params.file}" is not a PNG or JPEG image that can be read`);
    this.image = image;
    this.settings = params;
    this.drawnFor = '';
  }

  apply(frame: Frame, _clock: FrameClock): void {
    const image = this.image;
    const settings = this.settings;
    if (!image || !settings || settings.opacity === 0) return;
    const width = Math.max(2, Math.round(frame.width * settings.scale));
    const height = Math.max(2, Math.round((width * image.height) / image.width));
    const key = `${frame.width}x${frame.height}`;
    if (key !== this.drawnFor) {
      this.raster.draw(width, height, (context) => {
        context.globalAlpha = settings.opacity;
        context.drawImage(image, 0, 0, width, height);
      });
      this.drawnFor = key;
    }
    const marginX = Math.round(frame.width * MARGIN);
    const marginY = Math.round(frame.height * MARGIN);
    const right = frame.width - this.raster.width - marginX;
    const bottom = frame.height - this.raster.height - marginY;
    const [x, y] =
      settings.position === 'top-left' ? [marginX, marginY]
      : settings.position === 'top-right' ? [right, marginY]
      : settings.position === 'bottom-left' ? [marginX, bottom]
      : settings.position === 'bottom-right' ? [right, bottom]
      : [Math.round((frame.width - this.raster.width) / 2), Math.round((frame.height - this.raster.height) / 2)];
    this.raster.blend(frame, x, y);
  }

  /** Where a GPU blend stands (a lost device), read by the chain's stats. */
  operatorNote(): string | undefined {
    return this.batch?.operatorNote();
  }

  close(): void {
    this.image = undefined;
    this.raster.close();
    this.drawnFor = '';
  }
}
