import type { CubeLut } from '../cube-file.js';
import type { Frame, FrameClock } from '../frame.js';
import { Lut3d, type Lut3dParams } from '../lut3d.js';
import type { WebgpuDevice } from './webgpu-device.js';

/** Lut3d on the GPU: the reference's YUV tables (2.2 MB at 65 chroma levels), uploaded at configure time. */
export class WebgpuLut3d extends Lut3d {
  readonly backend = 'webgpu';
  readonly batch: WebgpuDevice;
  private kernelId = 0;

  constructor(options: { device: WebgpuDevice; resolveFile?: (name: string) => string }) {
    super(options.resolveFile);
    this.batch = options.device;
  }

  override useLut(lut: CubeLut, interp: Lut3dParams['interp'] = 'tetrahedral', strength = 1): void {
    super.useLut(lut, interp, strength);
    const tables = [this.lumaTable, new Uint8Array(this.chromaTable.buffer, this.chromaTable.byteOffset, this.chromaTable.byteLength)];
    if (this.kernelId === 0) this.kernelId = this.batch.createKernel('lut3d', tables);
    else this.batch.replaceKernel(this.kernelId, 'lut3d', tables);
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (!this.lut || this.strength === 0 || this.kernelId === 0) return;
    this.batch.queue(frame, this.kernelId);
  }

  operatorNote(): string | undefined {
    return this.batch.operatorNote();
  }

  override close(): void {
    super.close();
    if (this.kernelId === 0) return;
    this.batch.releaseKernel(this.kernelId);
    this.kernelId = 0;
  }
}
