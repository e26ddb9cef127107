// What the chain reports about itself. Types only and free of Node.js, so the pages can use them too.

export interface TransformTiming {
  name: string;
  enabled: boolean;
  /** Exponential moving average of the time per applied frame, ms. */
  averageMs: number;
  /** Frames on which a heavy transform was skipped to meet the deadline. */
  skippedFrames: number;
}

export interface ChainStats {
  /** Moving average of the whole chain per frame, ms. */
  averageMs: number;
  /** Frames whose chain time exceeded the frame interval. */
  framesOverDeadline: number;
  /** True while heavy transforms run every other frame. */
  degraded: boolean;
  transforms: TransformTiming[];
}
