/** An unref'd setInterval with an idempotent close(): the recorder's periodic checks (free disk space, retention). */
export class IntervalTimer {
  private timer: NodeJS.Timeout | undefined;
  private isClosed = false;

  /** Whether start() has set the interval going. */
  get started(): boolean {
    return this.timer !== undefined;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Calls `tick` every `intervalMs` from now on; the interval does not keep the process alive. */
  start(tick: () => void, intervalMs: number): void {
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  /** Stops the ticks. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
