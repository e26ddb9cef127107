// What the chain reports about itself. Types only and free of Node.js, so the pages can use them too.

export interface TransformTiming {
  name: string;
  enabled: boolean;
  /** Exponential moving average of the time per applied frame, ms. */
  averageMs: number;
  /** Frames on which a heavy transform was skipped to meet the deadline. */
  skippedFrames: number;
  /** True while the transform works at half resolution (the chain's choice or the operator's). */
  halfResolution: boolean;
  /** Where its kernel runs: `js` (the TypeScript reference), `wasm` (WebAssembly SIMD) or `webgpu` (WGSL on the GPU), per LIVEFX_TRANSFORM_BACKEND. */
  backend?: 'js' | 'wasm' | 'webgpu';
  /** What the transform says an operator must know now (e.g. face-blur not protecting yet). */
  note?: string;
}

export interface ChainStats {
  /** Moving average of the whole chain per frame, ms. */
  averageMs: number;
  /** Frames whose chain time exceeded the frame interval. */
  framesOverDeadline: number;
  /** True while heavy transforms run every other frame (the step after half resolution). */
  degraded: boolean;
  /**
   * True while the chain has asked the transforms that can work at half resolution to do so, the
   * step it takes before skipping frames. Absent in stats from before a chain ran.
   */
  halfResolution?: boolean;
  /**
   * True while heavy transforms are skipped on every frame: the last step, when running them every
   * other frame still misses the deadline. They are tried again every 300 frames. Absent in stats from before a chain ran.
   */
  heavyOff?: boolean;
  transforms: TransformTiming[];
}
