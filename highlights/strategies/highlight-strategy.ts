import type { RecordingSignals } from '../analysis/recording-signals.js';
import type { HighlightParams } from '../highlight-params.js';

/** One chosen moment, in seconds of the recording (already keyframe-snapped where the output needs it). */
export interface PlannedClip {
  start: number;
  end: number;
  /** The moment the clip is built around (its thumbnail). */
  peak: number;
  score: number;
  reasons: string[];
  /** Dead air cut out of the clip (seconds of the recording); the parts around each gap are joined. */
  gaps: [number, number][];
}

/** A way of choosing clips; strategies are registered by name in strategy-registry.ts. */
export interface HighlightStrategy {
  readonly name: HighlightParams['strategy'];
  /** Deterministic: the same signals and params (seed included) give the same clips, best first. */
  select(signals: RecordingSignals, params: HighlightParams): PlannedClip[];
}
