/** The steps of a viewer's join, in the order they normally happen. */
export type JoinMilestone = 'scriptReady' | 'socketReady' | 'offerSent' | 'answered' | 'firstFrame';

/**
 * When each step of a viewer's join happened, in ms since the page's navigation started
 * (performance.now()); each is also left as a `livefx:<step>` performance mark for devtools.
 * Only the first time of each step counts (a fallback or a reconnect does not move it).
 */
export class JoinTimings {
  readonly ms: Partial<Record<JoinMilestone, number>> = {};

  /** Marks a step now, or at `atMs` (performance.now()) when it happened before it could be told (an early WHEP session). */
  mark(milestone: JoinMilestone, atMs?: number): void {
    if (this.ms[milestone] !== undefined) return;
    this.ms[milestone] = Math.round(performance.mark(`livefx:${milestone}`, atMs === undefined ? undefined : { startTime: atMs }).startTime);
  }
}
