import type { RecordingEvent } from '../../recorder/recording-catalog.js';

/** Width of one bin of the common time grid (seconds). */
export const BIN_S = 0.5;
/** Chat and reactions count within ±this many seconds of a bin. */
const WINDOW_HALF_S = 5;
/** A viewer rise is measured against the lowest count of this many seconds before. */
const VIEWER_LOOKBACK_S = 30;
const REACTION_WEIGHT = 0.5;
const VIEWER_WEIGHT = 0.3;

/** One bin's raw numbers, for human-readable reasons. */
export interface EngagementBin {
  chatUsers: number;
  chatMessages: number;
  reactions: number;
  reactionUsers: number;
  viewerRise: number;
}

/**
 * Engagement on a 0.5 s grid from a recording's events. Chat counts distinct people per ±5 s window;
 * a person's repeats add only `0.2·ln(count)`, so one user flooding 60 messages weighs less than two
 * people saying one thing each. Reactions are damped the same way; viewer-count rises add too.
 */
export class EngagementTimeline {
  readonly bins: EngagementBin[];
  /** Combined score per bin. */
  readonly score: Float64Array;
  /** Chat messages and reactions by time, for reasons ("chat from 14 people"). */
  readonly chat: { t: number; user: string }[];
  readonly reactions: { t: number; user: string }[];

  constructor(
    events: readonly RecordingEvent[],
    readonly durationS: number,
  ) {
    const count = Math.max(1, Math.ceil(durationS / BIN_S));
    this.bins = Array.from({ length: count }, () => ({ chatUsers: 0, chatMessages: 0, reactions: 0, reactionUsers: 0, viewerRise: 0 }));
    this.score = new Float64Array(count);
    // Messages an operator removed (spam, abuse) are no sign of engagement.
    const removed = new Set(events.flatMap((event) => (event.type === 'moderation' && event.payload.action === 'remove-chat' && typeof event.payload.messageId === 'string' ? [event.payload.messageId] : [])));
    const chat = (this.chat = events
      .filter((event) => event.type === 'chat' && !(typeof event.payload.id === 'string' && removed.has(event.payload.id)))
      .map((event) => ({ t: event.t, user: String(event.payload.user ?? '?') })));
    const reactions = (this.reactions = events.filter((event) => event.type === 'reaction').map((event) => ({ t: event.t, user: String(event.payload.user ?? '?') })));
    const chatScore = this.windowed(chat, (bin, users, messages) => {
      bin.chatUsers = users;
      bin.chatMessages = messages;
    });
    const reactionScore = this.windowed(reactions, (bin, users, messages) => {
      bin.reactionUsers = users;
      bin.reactions = messages;
    });
    const viewers = events
      .filter((event) => event.type === 'viewers')
      // Live recordings log { webrtc, hls }; imports give one { count }.
      .map((event) => ({ t: event.t, total: typeof event.payload.count === 'number' ? event.payload.count : Number(event.payload.webrtc ?? 0) + Number(event.payload.hls ?? 0) }));
    let next = 0;
    let current = 0;
    const history: number[] = [];
    const lookback = Math.round(VIEWER_LOOKBACK_S / BIN_S);
    for (let index = 0; index < count; index++) {
      const t = (index + 0.5) * BIN_S;
      while (next < viewers.length && viewers[next]!.t <= t) current = viewers[next++]!.total;
      history.push(current);
      let lowest = current;
      for (let back = Math.max(0, index - lookback); back <= index; back++) lowest = Math.min(lowest, history[back]!);
      this.bins[index]!.viewerRise = current - lowest;
      this.score[index] = chatScore[index]! + REACTION_WEIGHT * reactionScore[index]! + VIEWER_WEIGHT * (current - lowest);
    }
  }

  /** Index of the bin holding time t. */
  static binOf(t: number): number {
    return Math.max(0, Math.floor(t / BIN_S));
  }

  /** Distinct-person score per bin over a sliding window; `describe` records the raw counts. */
  private windowed(items: readonly { t: number; user: string }[], describe: (bin: EngagementBin, users: number, messages: number) => void): Float64Array {
    const sorted = [...items].sort((a, b) => a.t - b.t || (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
    const out = new Float64Array(this.bins.length);
    const perUser = new Map<string, number>();
    let head = 0;
    let tail = 0;
    let messages = 0;
    for (let index = 0; index < this.bins.length; index++) {
      const t = (index + 0.5) * BIN_S;
      while (head < sorted.length && sorted[head]!.t <= t + WINDOW_HALF_S) {
        const user = sorted[head++]!.user;
        perUser.set(user, (perUser.get(user) ?? 0) + 1);
        messages++;
      }
      while (tail < head && sorted[tail]!.t < t - WINDOW_HALF_S) {
        const user = sorted[tail++]!.user;
        const left = perUser.get(user)! - 1;
        if (left === 0) perUser.delete(user);
        else perUser.set(user, left);
        messages--;
      }
      let score = 0;
      for (const n of perUser.values()) score += 1 + 0.2 * Math.log(n);
      out[index] = score;
      describe(this.bins[index]!, perUser.size, messages);
    }
    return out;
  }
}
