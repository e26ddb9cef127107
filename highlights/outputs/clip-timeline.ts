/**
 * How a clip's own clock maps to the recording's: the span [start, end] with its gaps (dead air cut
 * out) removed, the parts around each gap joined. Captions and the reel's chapters are timed with it.
 */
export class ClipTimeline {
  readonly parts: readonly (readonly [number, number])[];
  readonly start: number;
  readonly end: number;
  /** Dead air cut out, in recording seconds, in order. */
  readonly gaps: readonly (readonly [number, number])[];

  constructor(options: { start: number; end: number; gaps?: readonly (readonly [number, number])[] | undefined }) {
    const { start, end } = options;
    const gaps = options.gaps ?? [];
    this.start = start;
    this.end = end;
    this.gaps = gaps;
    const parts: [number, number][] = [];
    let from = start;
    for (const [gapStart, gapEnd] of gaps) {
      if (gapStart > from) parts.push([from, gapStart]);
      from = Math.max(from, gapEnd);
    }
    if (end > from) parts.push([from, end]);
    this.parts = parts;
  }

  /** Seconds of the clip (the parts joined). */
  get durationS(): number {
    let total = 0;
    for (const [from, to] of this.parts) total += to - from;
    return total;
  }

  /** Seconds into the clip of recording time `t`; a time inside a gap maps to the join. */
  toClip(t: number): number {
    let offset = 0;
    for (const [from, to] of this.parts) {
      if (t <= to) return offset + Math.max(0, t - from);
      offset += to - from;
    }
    return offset;
  }

  /** Whether recording time `t` is kept (not in a gap, within the span). */
  keeps(t: number): boolean {
    return this.parts.some(([from, to]) => t >= from && t <= to);
  }
}
