import { cpus } from 'node:os';

/** The machine's CPU use between two readings, from the kernel's per-core tick counters (no child process, no sampling thread). */
export class CpuMeter {
  private last = CpuMeter.ticks();
  private percent = 0;

  /** Percent busy since the previous call (the first call: since the meter was made). */
  sample(): number {
    const now = CpuMeter.ticks();
    const total = now.total - this.last.total;
    if (total > 0) this.percent = Math.round((100 * (total - (now.idle - this.last.idle))) / total);
    this.last = now;
    return this.percent;
  }

  /** The last sample, without taking a new one. */
  get lastPercent(): number {
    return this.percent;
  }

  private static ticks(): { idle: number; total: number } {
    let idle = 0;
    let total = 0;
    for (const cpu of cpus()) {
      idle += cpu.times.idle;
      total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
    }
    return { idle, total };
  }
}
