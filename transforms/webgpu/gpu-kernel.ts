import type { Frame } from '../frame.js';
import type { WebgpuDevice } from './webgpu-device.js';
import type { KernelName } from './webgpu-shaders.js';

/** One transform's kernel on the chain's GPU device: its tables uploaded on change, its runs queued per frame. */
export class GpuKernel {
  private id = 0;

  constructor(private readonly device: WebgpuDevice, private readonly name: KernelName) {}

  /** True once tables were uploaded (a kernel with none has nothing to run). */
  get ready(): boolean {
    return this.id !== 0;
  }

  /** Uploads the tables: the first call creates the kernel, later ones replace its tables. */
  upload(tables: Uint8Array[]): void {
    if (this.id === 0) this.id = this.device.createKernel(this.name, tables);
    else this.device.replaceKernel(this.id, this.name, tables);
  }

  queue(frame: Frame, parameter0 = 0, parameter1 = 0, parameter2 = 0, parameter3 = 0): void {
    this.device.queue(frame, this.id, parameter0, parameter1, parameter2, parameter3);
  }

  /** Frees the kernel's tables on the device. Idempotent. */
  close(): void {
    if (this.id === 0) return;
    this.device.releaseKernel(this.id);
    this.id = 0;
  }
}
