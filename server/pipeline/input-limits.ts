/**
 * The largest size of the same shape as width×height that fits the limit box, in even pixels
 * (I420 needs them). The box is turned to the picture's orientation, so 1920x1080 also admits a
 * 1080x1920 portrait camera.
 */
export function fitWithin(width: number, height: number, maxWidth: number, maxHeight: number): { width: number; height: number } {
  const [longLimit, shortLimit] = maxWidth >= maxHeight ? [maxWidth, maxHeight] : [maxHeight, maxWidth];
  const [longSide, shortSide] = width >= height ? [width, height] : [height, width];
  const scale = Math.min(1, longLimit / longSide, shortLimit / shortSide);
  if (scale === 1) return { width, height };
  // The tolerance keeps a side that lands exactly on the limit from losing two pixels to float rounding.
  const even = (side: number): number => Math.max(2, Math.floor(side / 2 + 1e-9) * 2);
  return { width: even(width * scale), height: even(height * scale) };
}

/** RTP video clock. */
const RTP_HZ = 90_000;

/**
 * Keeps at most maxFps frames a second by their RTP timestamps (so the publisher's pacing, not
 * the arrival jitter, decides): a frame passes when at least one limit interval has gone by since
 * the last one that passed, less a tenth of an interval of tolerance for rounding in the clock.
 */
export class FrameRateCap {
  private readonly minTicks: number;
  private lastPassed: number | undefined;

  constructor(maxFps: number) {
    this.minTicks = (RTP_HZ / maxFps) * 0.9;
  }

  passes(rtpTimestamp: number): boolean {
    if (this.lastPassed !== undefined) {
      // Unsigned 32-bit difference: the RTP clock wraps.
      const elapsed = (rtpTimestamp - this.lastPassed) >>> 0;
      // A timestamp that went backwards (a new publisher clock) starts over instead of stalling.
      if (elapsed < this.minTicks) return false;
    }
    this.lastPassed = rtpTimestamp;
    return true;
  }

  reset(): void {
    this.lastPassed = undefined;
  }
}
