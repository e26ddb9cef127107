import type { ZodType } from 'zod';
import type { Frame, FrameClock } from './frame.js';

/** Where a transform tells its host something an operator should know (the server's log, a CLI's stderr). */
export type TransformReport = (level: 'info' | 'warn' | 'error', message: string) => void;

/** The backend a transform's kernel runs on, as chain stats report it. */
export type TransformBackendName = 'js' | 'wasm' | 'webgpu';

/**
 * Kernels that queue their work and run it in one go (the GPU: one upload and one readback for a run
 * of GPU transforms). The chain calls flush() before the next transform of another batch and at the
 * end of the frame; whoever calls apply() outside a chain must flush too.
 */
export interface TransformBatch {
  flush(): void;
}

/** A frame kernel. `configure` may allocate; `apply` works in place and must not allocate. */
export interface Transform<P = unknown> {
  readonly name: string;
  /** Validates parameters at the boundary; shown in the operator console. */
  readonly params: ZodType<P>;
  /** Heavy transforms are the ones the chain may run every other frame when the deadline is tight. */
  readonly heavy: boolean;
  /** Where the kernel runs (LIVEFX_TRANSFORM_BACKEND); absent means the TypeScript reference. */
  readonly backend?: TransformBackendName;
  /** Present when apply() only queues the kernel: the frame changes at the batch's flush(). */
  readonly batch?: TransformBatch;
  /**
   * Present on transforms that can run their kernel at half resolution (about a quarter of the
   * cost); the chain asks for that before it skips frames of heavy transforms.
   */
  readonly resolution?: ResolutionControl;
  configure(params: P): void;
  apply(frame: Frame, clock: FrameClock): void;
  /**
   * Offline renders only: waits until apply() for this frame has everything it needs (e.g. a face
   * detection running in another thread). Live pipelines never call it, so apply() must never block.
   */
  prepare?(frame: Frame, clock: FrameClock): Promise<void>;
  /** A short state an operator must see beside the transform's timing (e.g. faces not blurred yet); read once a second. */
  operatorNote?(): string | undefined;
  close(): void;
}

/** How the chain switches a transform between full and half resolution. */
export interface ResolutionControl {
  /** False when the operator fixed the resolution: the chain's requests change nothing then. */
  readonly adaptive: boolean;
  /** Whether apply() works at half resolution now. */
  readonly active: boolean;
  /** The chain's wish, taken from the next apply() on. */
  request(half: boolean): void;
}
