import type { Frame, FrameClock } from '../frame.js';
import { Grain, type GrainParams } from '../grain.js';
import { GpuKernel } from './gpu-kernel.js';
import type { WebgpuDevice } from './webgpu-device.js';

/** Grain on the GPU: the reference's tile with its noise already scaled, uploaded at configure time; the frame's tile offset is the kernel's parameter. */
export class WebgpuGrain extends Grain {
  readonly backend = 'webgpu';
  readonly batch: WebgpuDevice;
  private readonly tileNoise = new Int32Array(256 * 256);
  private readonly kernel: GpuKernel;

  constructor(options: { device: WebgpuDevice }) {
    super();
    this.batch = options.device;
    this.kernel = new GpuKernel(options.device, 'grain');
  }

  override configure(params: GrainParams): void {
    super.configure(params);
    for (let index = 0; index < this.tileNoise.length; index++) this.tileNoise[index] = this.scaled[this.noise[index]! & 0xff]!;
    this.kernel.upload([new Uint8Array(this.tileNoise.buffer)]);
  }

  override apply(frame: Frame, clock: FrameClock): void {
    if (this.amount === 0 || !this.kernel.ready) return;
    this.kernel.queue(frame, this.tileOffset(clock.frameIndex));
  }

  operatorNote(): string | undefined {
    return this.batch.operatorNote();
  }

  override close(): void {
    this.kernel.close();
  }
}
