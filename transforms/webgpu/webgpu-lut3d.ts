import type { CubeLut } from '../cube-file.js';
import type { Frame, FrameClock } from '../frame.js';
import { Lut3d, type BuiltTables, type Lut3dParams } from '../lut3d.js';
import { GpuKernel } from './gpu-kernel.js';
import type { WebgpuDevice } from './webgpu-device.js';

/** Lut3d on the GPU: the reference's YUV tables (2.2 MB at 65 chroma levels), uploaded at configure time. */
export class WebgpuLut3d extends Lut3d {
  readonly backend = 'webgpu';
  readonly batch: WebgpuDevice;
  private readonly kernel: GpuKernel;

  constructor(options: { device: WebgpuDevice; resolveFile?: (name: string) => string }) {
    super(options.resolveFile);
    this.batch = options.device;
    this.kernel = new GpuKernel(options.device, 'lut3d');
  }

  override useLut(lut: CubeLut, interp: Lut3dParams['interp'] = 'tetrahedral', strength = 1, built?: BuiltTables): void {
    super.useLut(lut, interp, strength, built);
    this.kernel.upload([this.lumaTable, new Uint8Array(this.chromaTable.buffer, this.chromaTable.byteOffset, this.chromaTable.byteLength)]);
  }

  override apply(frame: Frame, _clock: FrameClock): void {
    if (!this.lut || this.strength === 0 || !this.kernel.ready) return;
    this.kernel.queue(frame);
  }

  operatorNote(): string | undefined {
    return this.batch.operatorNote();
  }

  override close(): void {
    super.close();
    this.kernel.close();
  }
}
