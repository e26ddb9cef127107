import type { RecordingEvent } from '../../recorder/recording-catalog.js';
import { EngagementTimeline } from './engagement-timeline.js';
import type { MediaAnalysis } from './media-analyzer.js';
import { transcriptSentences, type Sentence } from './transcript-sentences.js';

/** Dead air must last longer than this to be cut. */
export const DEAD_AIR_MIN_S = 2;

/** Every signal the strategies choose clips from, on the recording's clock. */
export interface RecordingSignals {
  durationS: number;
  engagement: EngagementTimeline;
  sentences: Sentence[];
  sceneCuts: number[];
  keyframes: number[];
  /** Silence and still picture at once, each longer than DEAD_AIR_MIN_S. */
  deadAir: [number, number][];
}

export function buildSignals(media: MediaAnalysis, events: readonly RecordingEvent[]): RecordingSignals {
  const deadAir: [number, number][] = [];
  // Without audio, a still picture alone is dead air.
  const silences = media.hasAudio ? media.silences : [[0, media.durationS] as [number, number]];
  for (const [silenceStart, silenceEnd] of silences) {
    for (const [stillStart, stillEnd] of media.stills) {
      const start = Math.max(silenceStart, stillStart);
      const end = Math.min(silenceEnd, stillEnd);
      if (end - start > DEAD_AIR_MIN_S) deadAir.push([start, end]);
    }
  }
  deadAir.sort((a, b) => a[0] - b[0]);
  return {
    durationS: media.durationS,
    engagement: new EngagementTimeline(events, media.durationS),
    sentences: transcriptSentences(events),
    sceneCuts: media.sceneCuts.map((cut) => cut.t),
    keyframes: media.keyframes,
    deadAir,
  };
}
