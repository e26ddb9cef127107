import { Color, type ColorParams } from '../color.js';
import type { Frame, FrameClock } from '../frame.js';
import { GpuKernel } from './gpu-kernel.js';
import type { WebgpuDevice } from './webgpu-device.js';

/** Color on the GPU: the reference's three tables, one lookup per byte in WGSL. */
export class WebgpuColor extends Color {
  readonly backend = 'webgpu';
  readonly batch: WebgpuDevice;
  private readonly tables = new Uint8Array(3 * 256);
  private readonly kernel: GpuKernel;

  constructor(options: { device: WebgpuDevice }) {
    super();
    this.batch = options.device;
    this.kernel = new GpuKernel(options.device, 'color');
  }

  override configure(params: ColorParams): void {
    super.configure(params);
    // Called by the base constructor before the device is set: the first upload waits for a configure from the factory.
    if (!this.kernel) return;
    this.tables.set(this.lumaTable, 0);
    this.tables.set(this.uTable, 256);
    this.tables.set(this.vTable, 512);
    this.kernel.upload([this.tables]);
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (!this.kernel.ready || (this.lumaIdentity && this.uIdentity && this.vIdentity)) return;
    this.kernel.queue(frame);
  }

  operatorNote(): string | undefined {
    return this.batch.operatorNote();
  }

  override close(): void {
    this.kernel.close();
  }
}
