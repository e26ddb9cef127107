import { round3 } from '../analysis/media-analyzer.js';
import { BIN_S } from '../analysis/engagement-timeline.js';
import type { RecordingSignals } from '../analysis/recording-signals.js';
import type { HighlightParams } from '../highlight-params.js';
import { clipReasons } from './clip-reasons.js';
import { ClipShaper, seededRandom, smooth } from './clip-shaper.js';
import type { HighlightStrategy, PlannedClip } from './highlight-strategy.js';

/** A peak must reach this share of the best one to count… */
const RELATIVE_FLOOR = 0.25;
/** …and at least this much: about three people chatting. One person alone is never a highlight. */
const ABSOLUTE_FLOOR = 2.5;
const SMOOTH_RADIUS_BINS = 4;
/** Bins around a chosen peak down to this share of it belong to the same moment. */
const HILL_SHARE = 0.35;

/** A plateau counts once: equal neighbours on the left do not disqualify a bin, a higher one does. */
function isLocalMaximum(curve: Float64Array, bin: number): boolean {
  const value = curve[bin]!;
  return (bin === 0 || curve[bin - 1]! <= value) && (bin === curve.length - 1 || curve[bin + 1]! <= value);
}

/** The k most engaging moments: peaks of the smoothed engagement curve, with non-maximum suppression so clips never overlap. */
export class EngagementTopkStrategy implements HighlightStrategy {
  readonly name = 'engagement_topk' as const;

  select(signals: RecordingSignals, params: HighlightParams): PlannedClip[] {
    const curve = smooth(signals.engagement.score, SMOOTH_RADIUS_BINS);
    const random = seededRandom(params.seed);
    // Tiny seeded jitter: only decides between exactly equal bins.
    const ranked = Float64Array.from(curve, (value) => value + random() * 1e-9);
    const suppressed = new Uint8Array(curve.length);
    let best = 0;
    for (const value of curve) best = Math.max(best, value);
    const floor = Math.max(ABSOLUTE_FLOOR, RELATIVE_FLOOR * best);
    const shaper = new ClipShaper(signals, params);
    const clips: PlannedClip[] = [];
    const taken: [number, number][] = [];
    while (clips.length < params.k) {
      let peakBin = -1;
      for (let bin = 0; bin < ranked.length; bin++) if (!suppressed[bin] && isLocalMaximum(curve, bin) && (peakBin < 0 || ranked[bin]! > ranked[peakBin]!)) peakBin = bin;
      if (peakBin < 0 || curve[peakBin]! < floor) break;
      const peak = (peakBin + 0.5) * BIN_S;
      const shaped = shaper.shape(peak, curve, taken);
      if (!shaped) {
        suppressed[peakBin] = 1;
        continue;
      }
      // Suppress everything the clip covers, so the next peak is a different moment.
      for (let bin = Math.max(0, Math.floor(shaped.start / BIN_S)); bin <= Math.min(ranked.length - 1, Math.ceil(shaped.end / BIN_S)); bin++) suppressed[bin] = 1;
      // …and the whole hill the peak stands on, so its slopes do not come back as lesser clips.
      for (let bin = peakBin; bin >= 0 && curve[bin]! >= HILL_SHARE * curve[peakBin]!; bin--) suppressed[bin] = 1;
      for (let bin = peakBin; bin < curve.length && curve[bin]! >= HILL_SHARE * curve[peakBin]!; bin++) suppressed[bin] = 1;
      taken.push([shaped.start, shaped.end]);
      const reasons = clipReasons(signals, shaped.start, shaped.end);
      if (shaped.deadAirTrimmed) reasons.push(shaped.gaps.length > 0 ? 'dead air cut out' : 'dead air trimmed');
      clips.push({ start: shaped.start, end: shaped.end, peak: round3(Math.min(Math.max(peak, shaped.start), shaped.end - 0.1)), score: round3(curve[peakBin]!), reasons, gaps: shaped.gaps });
    }
    return clips;
  }
}
