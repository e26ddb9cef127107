import { round3 } from '../analysis/media-analyzer.js';
import { EngagementTimeline } from '../analysis/engagement-timeline.js';
import type { RecordingSignals } from '../analysis/recording-signals.js';
import type { HighlightParams } from '../highlight-params.js';
import { clipReasons } from './clip-reasons.js';
import { ClipShaper, seededRandom, smooth } from './clip-shaper.js';
import type { HighlightStrategy, PlannedClip } from './highlight-strategy.js';

const normalize = (text: string): string => text.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, '').trim();

/** Clips around transcript mentions of the keywords, ranked by mentions nearby, then engagement. */
export class KeywordsStrategy implements HighlightStrategy {
  readonly name = 'keywords' as const;

  select(signals: RecordingSignals, params: HighlightParams): PlannedClip[] {
    const keywords = (params.keywords ?? []).map(normalize).filter(Boolean);
    const mentions: { t: number; keyword: string }[] = [];
    for (const sentence of signals.sentences) {
      for (let index = 0; index < sentence.words.length; index++) {
        for (const keyword of keywords) {
          const size = keyword.split(/\s+/).length;
          const phrase = normalize(sentence.words.slice(index, index + size).map((word) => word.word).join(' '));
          if (phrase === keyword) mentions.push({ t: sentence.words[index]!.start, keyword });
        }
      }
    }
    const curve = smooth(signals.engagement.score, 4);
    const random = seededRandom(params.seed);
    const window = params.max_clip_s / 2;
    const candidates = mentions.map((mention) => {
      const near = mentions.filter((other) => Math.abs(other.t - mention.t) <= window);
      const engagement = curve[Math.min(curve.length - 1, EngagementTimeline.binOf(mention.t))] ?? 0;
      return { mention, near, rank: near.length + 0.01 * engagement + random() * 1e-9 };
    });
    candidates.sort((a, b) => b.rank - a.rank || a.mention.t - b.mention.t);
    const shaper = new ClipShaper(signals, params);
    const taken: [number, number][] = [];
    const clips: PlannedClip[] = [];
    for (const candidate of candidates) {
      if (clips.length >= params.k) break;
      if (taken.some(([start, end]) => candidate.mention.t >= start && candidate.mention.t <= end)) continue;
      // The mention sits early in the clip: what is said about it comes after.
      const shaped = shaper.shape(candidate.mention.t + params.min_clip_s * 0.35, curve, taken);
      if (!shaped || candidate.mention.t < shaped.start || candidate.mention.t > shaped.end) continue;
      taken.push([shaped.start, shaped.end]);
      const inside = mentions.filter((mention) => mention.t >= shaped.start && mention.t <= shaped.end);
      const words = [...new Set(inside.map((mention) => mention.keyword))].map((word) => `"${word}"`).join(', ');
      const reasons = [`${inside.length} ${inside.length === 1 ? 'mention' : 'mentions'} of ${words}`, ...clipReasons(signals, shaped.start, shaped.end)];
      if (shaped.deadAirTrimmed) reasons.push(shaped.gaps.length > 0 ? 'dead air cut out' : 'dead air trimmed');
      clips.push({ start: shaped.start, end: shaped.end, peak: round3(candidate.mention.t), score: round3(candidate.rank), reasons, gaps: shaped.gaps });
    }
    return clips;
  }
}
