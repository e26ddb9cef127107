import { round3 } from '../analysis/media-analyzer.js';
import { BIN_S, EngagementTimeline } from '../analysis/engagement-timeline.js';
import type { RecordingSignals } from '../analysis/recording-signals.js';
import type { HighlightParams } from '../highlight-params.js';

/** Boundaries move to a sentence end or scene cut at most this far away. */
export const SNAP_TOLERANCE_S = 3;
/** Share of the clip before its peak: chat reacts after the moment, so the moment sits before the chat peak. */
const LEAD_SHARE = 0.6;
/** Dead air inside a clip is cut out (the parts joined) when at least this much of the clip lies on each side; else the clip is trimmed to the peak's side. */
export const MIN_PART_S = 2;

type Interval = readonly [number, number];

/**
 * Turns a peak into clip boundaries: a window sized by how long engagement stays high (within
 * min/max), snapped to scene cuts and sentence ends, dead air cut off, kept clear of clips already
 * taken, and (for preview quality) the start moved onto a keyframe so a stream-copy cut starts exactly there.
 */
export class ClipShaper {
  constructor(
    private readonly signals: RecordingSignals,
    private readonly params: HighlightParams,
  ) {}

  /**
   * Null when no clip of at least min_clip_s fits around the peak. `gaps`: dead air inside the clip, cut
   * out with the parts before and after joined (for preview each gap ends on a keyframe); min/max
   * duration count what remains.
   */
  shape(peak: number, curve: Float64Array, taken: readonly Interval[]): { start: number; end: number; deadAirTrimmed: boolean; gaps: [number, number][] } | null {
    const { min_clip_s: minS, max_clip_s: maxS } = this.params;
    const duration = this.signals.durationS;
    if (duration < minS) return null;
    const peakBin = EngagementTimeline.binOf(peak);
    const peakValue = curve[Math.min(peakBin, curve.length - 1)] ?? 0;
    let left = peakBin;
    let right = peakBin;
    while (left > 0 && curve[left - 1]! >= 0.35 * peakValue) left--;
    while (right < curve.length - 1 && curve[right + 1]! >= 0.35 * peakValue) right++;
    const length = clamp((right - left + 1) * BIN_S, minS, maxS);
    let start = peak - LEAD_SHARE * length;
    let end = start + length;
    [start, end] = this.fit(start, end, duration);

    start = this.snap(start, [...this.signals.sceneCuts, ...this.signals.sentences.map((sentence) => sentence.start)], start, end, 'start');
    end = this.snap(end, [...this.signals.sentences.map((sentence) => sentence.end), ...this.signals.sceneCuts], start, end, 'end');

    let deadAirTrimmed = false;
    let gaps: [number, number][] = [];
    if (this.params.remove_dead_air) {
      for (const [deadStart, deadEnd] of this.signals.deadAir) {
        if (deadEnd <= start || deadStart >= end) continue;
        deadAirTrimmed = true;
        const resume = this.resumeAfter(deadEnd);
        if (deadStart - start >= MIN_PART_S && end - resume >= MIN_PART_S) gaps.push([deadStart, resume]);
        else if (peak <= deadStart) end = deadStart;
        else start = deadEnd;
      }
      gaps = gaps.filter(([gapStart, gapEnd]) => gapStart > start && gapEnd < end);
      // Grow back to min_clip_s on the side away from dead air, as far as the neighbours allow.
      const kept = end - start - removed(gaps);
      if (kept < minS) {
        const missing = minS - kept;
        const roomAfter = this.freeUntil(end, taken) - end;
        const grow = Math.min(missing, roomAfter);
        end += grow;
        start -= Math.min(missing - grow, start - this.freeFrom(start, taken));
      }
    }
    for (const [takenStart, takenEnd] of taken) {
      if (takenEnd <= start || takenStart >= end) continue;
      if (takenStart <= start) start = takenEnd;
      else end = takenStart;
    }
    // Final quality re-encodes frame-exact; preview is a stream copy, which can only start on a keyframe.
    if (this.params.quality === 'preview') start = this.keyframeAtOrBefore(start, taken);
    if (end > duration) end = duration;
    gaps = gaps.filter(([gapStart, gapEnd]) => gapStart - start >= MIN_PART_S && end - gapEnd >= MIN_PART_S);
    if (end - start - removed(gaps) < minS - 0.5 || end <= start) return null;
    if (end - start - removed(gaps) > maxS) {
      end = start + maxS + removed(gaps);
      // A shortened end may now fall in or just after a gap: that gap goes, and the clip ends where it began.
      const last = gaps[gaps.length - 1];
      if (last && end - last[1] < MIN_PART_S) {
        gaps.pop();
        end = last[0];
      }
    }
    return { start: round3(start), end: round3(end), deadAirTrimmed, gaps: gaps.map(([gapStart, gapEnd]) => [round3(gapStart), round3(gapEnd)] as [number, number]) };
  }

  /** Where a clip goes on after dead air: its end, or for a stream copy the first keyframe from there (a hair before counts). */
  private resumeAfter(deadEnd: number): number {
    if (this.params.quality !== 'preview') return deadEnd;
    return this.signals.keyframes.find((keyframe) => keyframe >= deadEnd - 0.1) ?? deadEnd;
  }

  private fit(start: number, end: number, duration: number): [number, number] {
    if (start < 0) {
      end -= start;
      start = 0;
    }
    if (end > duration) {
      start = Math.max(0, start - (end - duration));
      end = duration;
    }
    return [start, end];
  }

  /** The nearest candidate within tolerance that keeps the length within min/max. */
  private snap(value: number, candidates: readonly number[], start: number, end: number, side: 'start' | 'end'): number {
    let best = value;
    let bestDistance = SNAP_TOLERANCE_S;
    for (const candidate of candidates) {
      const distance = Math.abs(candidate - value);
      if (distance >= bestDistance) continue;
      const length = side === 'start' ? end - candidate : candidate - start;
      if (length < this.params.min_clip_s || length > this.params.max_clip_s) continue;
      best = candidate;
      bestDistance = distance;
    }
    return best;
  }

  /** Where the free stretch after `t` ends (the next dead air, clip or the end). */
  private freeUntil(t: number, taken: readonly Interval[]): number {
    let limit = this.signals.durationS;
    for (const [start] of [...taken, ...this.signals.deadAir]) if (start >= t) limit = Math.min(limit, start);
    return limit;
  }

  private freeFrom(t: number, taken: readonly Interval[]): number {
    let limit = 0;
    for (const [, end] of [...taken, ...this.signals.deadAir]) if (end <= t) limit = Math.max(limit, end);
    return limit;
  }

  private keyframeAtOrBefore(t: number, taken: readonly Interval[]): number {
    const floor = this.params.remove_dead_air ? this.freeFrom(t + 1e-6, taken) : Math.max(0, ...taken.filter(([, end]) => end <= t + 1e-6).map(([, end]) => end));
    return keyframeAtOrBefore(this.signals.keyframes, t, floor);
  }
}

/**
 * Where a stream-copy cut meant to start at `t` starts: the keyframe at or before it, unless that is
 * before `floor` (a neighbouring clip or dead air), then the one after. For first cuts and for trims.
 */
export function keyframeAtOrBefore(keyframes: readonly number[], t: number, floor = 0): number {
  if (keyframes.length === 0) return t;
  let before: number | undefined;
  let after: number | undefined;
  for (const keyframe of keyframes) {
    if (keyframe <= t + 1e-6) before = keyframe;
    else {
      after = keyframe;
      break;
    }
  }
  // A keyframe a hair after the target (audio priming shifts video by ~23 ms) is the one meant.
  if (after !== undefined && after - t <= 0.1) return after;
  if (before !== undefined && before >= floor - 1e-6) return before;
  return after ?? t;
}

/** Seconds the gaps remove. */
export function removed(gaps: readonly (readonly [number, number])[]): number {
  let total = 0;
  for (const [start, end] of gaps) total += end - start;
  return total;
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** A small seeded generator (mulberry32): the seed only breaks ties between equal scores. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** Box-smoothed copy of a curve (±radius bins). */
export function smooth(values: Float64Array, radius: number): Float64Array {
  const out = new Float64Array(values.length);
  let sum = 0;
  let count = 0;
  for (let index = 0; index < Math.min(radius, values.length); index++) {
    sum += values[index]!;
    count++;
  }
  for (let index = 0; index < values.length; index++) {
    const enter = index + radius;
    if (enter < values.length) {
      sum += values[enter]!;
      count++;
    }
    const leave = index - radius - 1;
    if (leave >= 0) {
      sum -= values[leave]!;
      count--;
    }
    out[index] = sum / count;
  }
  return out;
}
