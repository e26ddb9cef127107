import type { Frame, FrameClock } from '../frame.js';
import { Vignette, type VignetteParams } from '../vignette.js';
import { GpuKernel } from './gpu-kernel.js';
import type { WebgpuDevice } from './webgpu-device.js';

/** Vignette on the GPU: the reference's gains, rebuilt and uploaded when the frame size or the parameters change. */
export class WebgpuVignette extends Vignette {
  readonly backend = 'webgpu';
  readonly batch: WebgpuDevice;
  private readonly kernel: GpuKernel;
  /** The gains the GPU holds, by frame size ('' after a parameter change). */
  private uploadedFor = '';

  constructor(options: { device: WebgpuDevice }) {
    super();
    this.batch = options.device;
    this.kernel = new GpuKernel(options.device, 'vignette');
  }

  override configure(params: VignetteParams): void {
    super.configure(params);
    this.uploadedFor = '';
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (this.settings.strength === 0) return;
    const key = `${frame.width}x${frame.height}`;
    if (key !== this.builtFor) this.build(frame.width, frame.height, key);
    if (this.uploadedFor !== this.builtFor) this.upload();
    this.kernel.queue(frame);
  }

  operatorNote(): string | undefined {
    return this.batch.operatorNote();
  }

  override close(): void {
    this.kernel.close();
  }

  /** A new size or new parameters: once per change, never per frame. */
  private upload(): void {
    const bytes = (gains: Uint16Array): Uint8Array => new Uint8Array(gains.buffer, gains.byteOffset, gains.byteLength);
    const tables = [bytes(this.lumaGain), bytes(this.chromaGain)];
    this.kernel.upload(tables);
    this.uploadedFor = this.builtFor;
  }
}
