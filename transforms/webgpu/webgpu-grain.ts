import type { Frame, FrameClock } from '../frame.js';
import { Grain, type GrainParams } from '../grain.js';
import type { WebgpuDevice } from './webgpu-device.js';

/** Grain on the GPU: the reference's tile with its noise already scaled, uploaded at configure time; the frame's tile offset is the kernel's parameter. */
export class WebgpuGrain extends Grain {
  readonly backend = 'webgpu';
  readonly batch: WebgpuDevice;
  private readonly tileNoise = new Int32Array(256 * 256);
  private kernelId = 0;

  constructor(options: { device: WebgpuDevice }) {
    super();
    this.batch = options.device;
  }

  override configure(params: GrainParams): void {
    super.configure(params);
    for (let index = 0; index < this.tileNoise.length; index++) this.tileNoise[index] = this.scaled[this.noise[index]! & 0xff]!;
    const tables = [new Uint8Array(this.tileNoise.buffer)];
    if (this.kernelId === 0) this.kernelId = this.batch.createKernel('grain', tables);
    else this.batch.replaceKernel(this.kernelId, 'grain', tables);
  }

  override apply(frame: Frame, clock: FrameClock): void {
    if (this.amount === 0 || this.kernelId === 0) return;
    this.batch.queue(frame, this.kernelId, this.tileOffset(clock.frameIndex));
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
