import type { Frame, FrameClock } from '../frame.js';
import { Pixelate } from '../pixelate.js';
import { GpuKernel } from './gpu-kernel.js';
import type { WebgpuDevice } from './webgpu-device.js';

/** Pixelate on the GPU in two passes: each block's mean into its top-left byte, then every byte takes its block's mean. */
export class WebgpuPixelate extends Pixelate {
  readonly backend = 'webgpu';
  readonly batch: WebgpuDevice;
  private readonly means: GpuKernel;
  private readonly fill: GpuKernel;

  constructor(options: { device: WebgpuDevice }) {
    super();
    this.batch = options.device;
    // No tables: the block size is the per-frame parameter.
    this.means = new GpuKernel(options.device, 'pixelateMeans');
    this.fill = new GpuKernel(options.device, 'pixelateFill');
    this.means.upload([]);
    this.fill.upload([]);
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    this.means.queue(frame, this.blockSize);
    this.fill.queue(frame, this.blockSize);
  }

  operatorNote(): string | undefined {
    return this.batch.operatorNote();
  }

  override close(): void {
    this.means.close();
    this.fill.close();
  }
}
