import { REACTION_KINDS, emptyReactionCounts, type ReactionCounts, type ReactionKind } from './audience-protocol.js';

/**
 * Reaction counts of one stream: totals since it was created, and a sliding window of the last
 * few seconds kept as one bucket per second (a fixed ring, so a flood allocates nothing).
 */
export class ReactionTally {
  readonly totals = emptyReactionCounts();
  private readonly buckets: ReactionCounts[];
  private readonly bucketSecond: number[];

  constructor(readonly windowS: number) {
    this.buckets = Array.from({ length: windowS }, () => emptyReactionCounts());
    this.bucketSecond = new Array<number>(windowS).fill(-1);
  }

  add(kind: ReactionKind, nowMs: number): void {
    this.totals[kind]++;
    this.bucketAt(Math.floor(nowMs / 1000))[kind]++;
  }

  /** Counts per kind in the last windowS seconds (the current second included). */
  recent(nowMs: number): ReactionCounts {
    const second = Math.floor(nowMs / 1000);
    const counts = emptyReactionCounts();
    for (let index = 0; index < this.windowS; index++) {
      if (second - this.bucketSecond[index]! >= this.windowS) continue;
      for (const kind of REACTION_KINDS) counts[kind] += this.buckets[index]![kind];
    }
    return counts;
  }

  private bucketAt(second: number): ReactionCounts {
    const index = second % this.windowS;
    const bucket = this.buckets[index]!;
    if (this.bucketSecond[index] !== second) {
      for (const kind of REACTION_KINDS) bucket[kind] = 0;
      this.bucketSecond[index] = second;
    }
    return bucket;
  }
}
