import { EngagementTimeline } from '../analysis/engagement-timeline.js';
import type { RecordingSignals } from '../analysis/recording-signals.js';

/** Chat keeps coming a few seconds after the moment it is about. */
const CHAT_LAG_S = 5;

/** Human-readable reasons for a clip, strongest first ("chat from 14 people", "32 reactions", "viewers +12"). */
export function clipReasons(signals: RecordingSignals, start: number, end: number): string[] {
  const timeline = signals.engagement;
  const inClip = (item: { t: number }): boolean => item.t >= start && item.t <= end + CHAT_LAG_S;
  const chatters = new Set(timeline.chat.filter(inClip).map((message) => message.user));
  const reactions = timeline.reactions.filter(inClip).length;
  let viewerRise = 0;
  for (let bin = EngagementTimeline.binOf(start); bin <= Math.min(EngagementTimeline.binOf(end), timeline.bins.length - 1); bin++) viewerRise = Math.max(viewerRise, timeline.bins[bin]!.viewerRise);
  const reasons: { weight: number; text: string }[] = [];
  if (chatters.size > 0) reasons.push({ weight: chatters.size, text: `chat from ${chatters.size} ${chatters.size === 1 ? 'person' : 'people'}` });
  if (reactions > 0) reasons.push({ weight: reactions * 0.5, text: `${reactions} ${reactions === 1 ? 'reaction' : 'reactions'}` });
  if (viewerRise > 0) reasons.push({ weight: viewerRise * 0.3, text: `viewers +${viewerRise}` });
  return reasons.sort((a, b) => b.weight - a.weight || (a.text < b.text ? -1 : 1)).map((reason) => reason.text);
}
