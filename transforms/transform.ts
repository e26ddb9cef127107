import type { ZodType } from 'zod';
import type { Frame, FrameClock } from './frame.js';

/** A frame kernel. `configure` may allocate; `apply` works in place and must not allocate. */
export interface Transform<P = unknown> {
  readonly name: string;
  /** Validates parameters at the boundary; shown in the operator console. */
  readonly params: ZodType<P>;
  /** Heavy transforms are the ones the chain may run every other frame when the deadline is tight. */
  readonly heavy: boolean;
  configure(params: P): void;
  apply(frame: Frame, clock: FrameClock): void;
  close(): void;
}
