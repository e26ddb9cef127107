import { Color, type ColorParams } from '../color.js';
import type { Frame, FrameClock } from '../frame.js';
import type { WebgpuDevice } from './webgpu-device.js';

/** Color on the GPU: the reference's three tables, one lookup per byte in WGSL. */
export class WebgpuColor extends Color {
  readonly backend = 'webgpu';
  readonly batch: WebgpuDevice;
  private readonly tables = new Uint8Array(3 * 256);
  private kernelId = 0;

  constructor(options: { device: WebgpuDevice }) {
    super();
    this.batch = options.device;
  }

  override configure(params: ColorParams): void {
    super.configure(params);
    // Called by the base constructor before the device is set: the first upload waits for a configure from the factory.
    if (!this.batch) return;
    this.tables.set(this.lumaTable, 0);
    this.tables.set(this.uTable, 256);
    this.tables.set(this.vTable, 512);
    if (this.kernelId === 0) this.kernelId = this.batch.createKernel('color', [this.tables]);
    else this.batch.replaceKernel(this.kernelId, 'color', [this.tables]);
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (this.kernelId === 0 || (this.lumaIdentity && this.uIdentity && this.vIdentity)) return;
    this.batch.queue(frame, this.kernelId);
  }

  operatorNote(): string | undefined {
    return this.batch.operatorNote();
  }

  override close(): void {
    if (this.kernelId === 0) return;
    this.batch.releaseKernel(this.kernelId);
    this.kernelId = 0;
  }
}
