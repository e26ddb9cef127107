import { LivefxError } from '../core/errors.js';
import { round3 } from '../highlights/analysis/media-analyzer.js';
import type { RecordingSignals } from '../highlights/analysis/recording-signals.js';
import type { Sentence } from '../highlights/analysis/transcript-sentences.js';
import { clipReasons } from '../highlights/strategies/clip-reasons.js';
import { seededRandom } from '../highlights/strategies/clip-shaper.js';
import { EngagementTopkStrategy } from '../highlights/strategies/engagement-topk-strategy.js';
import type { HighlightParams } from '../highlights/highlight-params.js';
import { readPrompt, type PromptReading } from './planner-prompt.js';
import type { StudioCaller } from './ports.js';
import { CAMERA_MOVES, LOOKS, storyboardBodySchema, type Aspect, type CameraMove, type Shot, type StoryboardBody, type StoryboardProvenance, type StoryboardRequest } from './storyboard.js';
import type { PlannableRecording, StudioSources } from './studio-sources.js';

export const PLANNER_VERSION = 'livefx-planner/1';
/** Shot lengths are whole quarter seconds: binary fractions, so they add up to the total exactly. */
const QUANTUM_S = 0.25;
const DEFAULT_SEED = 42;
const DEFAULT_DURATION_S = 30;
const DEFAULT_SHOTS = 4;
/** A boundary moves to a sentence start/end or scene cut at most this far. */
const SNAP_S = 2.5;
/** Speech a clip starts on gets this much air before its first word. */
const LEAD_IN_S = 0.3;
const TRANSITION_S = 0.5;

/** What the planner knows of a template it is asked to follow (defaults for what the request leaves out). */
export interface TemplateHints {
  name: string;
  duration_s?: number;
  aspect?: Aspect;
  style?: string;
  titleCard: boolean;
  endCard: boolean;
  music?: StoryboardBody['music'];
}

export interface PlannerOptions {
  sources: StudioSources;
  /** Stored preset names: a prompt or `style` may name one as its look. */
  presetNames: () => string[] | Promise<string[]>;
  /** Hints of a named template; undefined for an unknown name (404). */
  templateHints?: (name: string) => Promise<TemplateHints | undefined>;
}

/** A moment of a recording worth a shot, before its length is known. */
interface Candidate {
  recording: PlannableRecording;
  order: number;
  /** Where the shot should start (before snapping). */
  anchor: number;
  score: number;
  reasons: string[];
}

/** One placed clip: a range of a recording and why. */
export interface PlannedMoment {
  source: { recording_id: string; in: number; out: number };
  reasons: string[];
  /** Whether a transcript sentence lies in the range (captions have words to show). */
  spoken: boolean;
}

const normalize = (text: string): string => text.toLowerCase().replace(/[^\p{L}\p{N}\s']/gu, ' ').replace(/\s+/g, ' ').trim();

/**
 * Prompt → storyboard, deterministic for a seed. Reads duration, aspect, look and subject from the
 * prompt; ranks moments of the chosen recordings by transcript matches of the prompt's words,
 * engagement (the highlights scoring: distinct chatters, reactions, viewer rises, spam damped) and
 * scene structure; places each clip to start on speech or a scene cut and never in dead air; allots
 * shot lengths that add up to `duration_s` exactly; and writes down why each shot was chosen.
 */
export class Planner {
  private readonly engagement = new EngagementTopkStrategy();

  constructor(private readonly options: PlannerOptions) {}

  async plan(request: StoryboardRequest, caller: StudioCaller, signal?: AbortSignal): Promise<{ body: StoryboardBody; provenance: StoryboardProvenance }> {
    const presets = await this.options.presetNames();
    const reading = readPrompt(request.prompt, presets);
    const hints = request.template ? await this.templateHints(request.template) : undefined;
    const style = request.style ?? reading.look ?? hints?.style ?? 'clean';
    if (!(LOOKS as readonly string[]).includes(style) && !presets.includes(style)) {
      throw new LivefxError('invalid_request', `style: "${style}" is neither a look (${LOOKS.join(', ')}) nor a stored preset`, { details: { field: 'style' } });
    }
    const seed = request.seed ?? DEFAULT_SEED;
    const durationS = request.duration_s ?? reading.durationS ?? hints?.duration_s ?? DEFAULT_DURATION_S;
    const aspect = request.aspect ?? reading.aspect ?? hints?.aspect ?? '16:9';
    const shotCount = request.shots ?? DEFAULT_SHOTS;
    const recordings = await this.options.sources.recordings(caller, request.sources?.recording_ids);
    const assetIds = await this.options.sources.assets(request.sources?.asset_ids);
    const plannable: PlannableRecording[] = [];
    for (const recording of recordings) plannable.push(await this.options.sources.plannable(recording, signal));

    let titleCard = reading.titleCard || (hints?.titleCard ?? false);
    let endCard = reading.endCard || (hints?.endCard ?? false);
    // Cards count among the shots; with too few shots, the end card goes first, then the title.
    if (plannable.length > 0 && shotCount - Number(titleCard) - Number(endCard) < 1) endCard = false;
    if (plannable.length > 0 && shotCount - Number(titleCard) < 1) titleCard = false;
    const random = seededRandom(seed);
    const cards = Number(titleCard) + Number(endCard);
    const cardS = cards === 0 ? 0 : Math.max(QUANTUM_S * 2, quantize(Math.min(3, (durationS * 0.12))));
    const title = titleOf(reading, request.prompt);

    const shots: Omit<Shot, 'index' | 'start'>[] = [];
    if (titleCard) shots.push({ kind: 'title', duration: cardS, text: title, camera: 'static', reasons: ['title card: the prompt asks for one', `title from the prompt: '${title}'`] });
    let spoken = false;
    if (plannable.length > 0) {
      const clipCount = shotCount - cards;
      const lengths = allot(durationS - cardS * cards, clipCount);
      const moments = this.placeMoments(plannable, reading, lengths, seed);
      // Fewer moments than asked (short recordings): the time goes to the moments found.
      const placed = moments.length === lengths.length ? moments : this.placeMoments(plannable, reading, allot(durationS - cardS * cards, Math.max(1, moments.length)), seed);
      for (const [position, moment] of placed.entries()) {
        spoken ||= moment.spoken;
        shots.push({
          kind: 'clip',
          duration: round3(moment.source.out - moment.source.in),
          source: moment.source,
          camera: this.cameraFor(aspect, style, random),
          reasons: moment.reasons,
          ...(position > 0 || titleCard ? { transition: this.transitionInto(shots[shots.length - 1], moment, style) } : {}),
        });
      }
      // The exact allotted lengths (a clip cut short by its recording's end keeps its range).
      const allotted = allot(durationS - cardS * cards, placed.length);
      placed.forEach((_, position) => (shots[position + Number(titleCard)]!.duration = allotted[position]!));
    } else {
      const fill = Math.max(1, shotCount - cards);
      const lengths = allot(durationS - cardS * cards, fill);
      for (let position = 0; position < fill; position++) {
        const transition = shots.length > 0 ? { transition: { name: 'fade' as const, duration: TRANSITION_S } } : {};
        const asset = assetIds[position % Math.max(1, assetIds.length)];
        if (asset !== undefined) {
          shots.push({ kind: 'image', duration: lengths[position]!, source: { asset_id: asset }, camera: random() < 0.5 ? 'push-in' : 'pull-out', ...transition, reasons: ['no recordings to use: built from the uploaded images', `asset: ${asset}`] });
        } else {
          const text = reading.phrases[position] ?? reading.words[position] ?? title;
          shots.push({ kind: 'title', duration: lengths[position]!, text: capitalize(text), camera: 'static', ...transition, reasons: ['no recordings or images to use: a title card', `text from the prompt: '${text}'`] });
        }
      }
    }
    if (endCard) shots.push({ kind: 'title', duration: cardS, text: 'Thanks for watching', camera: 'static', transition: { name: 'fade', duration: TRANSITION_S }, reasons: ['end card: the prompt asks for one'] });

    let start = 0;
    const indexed = shots.map((shot, index) => {
      const placed = { ...shot, index, start: round3(start) } as Shot;
      start += shot.duration;
      return placed;
    });
    const body = storyboardBodySchema.parse({
      prompt: request.prompt,
      style,
      aspect,
      duration_s: durationS,
      seed,
      shots: indexed,
      captions: reading.captions ?? spoken,
      ...(reading.music ? { music: { track: reading.music, gain_db: -18, duck: true } } : hints?.music ? { music: hints.music } : {}),
      ...(reading.voiceover ? { voiceover: { text: title, voice: 'default' } } : {}),
      ...(request.template ? { template: request.template } : {}),
    });
    const provenance: StoryboardProvenance = {
      planner: PLANNER_VERSION,
      prompt: request.prompt,
      seed,
      ...(request.template ? { template: request.template } : {}),
      sources: plannable.map(({ recording, sha256 }) => ({ recording_id: recording.id, title: recording.title, sha256 })),
      asset_ids: assetIds,
      planned_at: new Date().toISOString(),
      read_from_prompt: { duration_s: reading.durationS ?? null, aspect: reading.aspect ?? null, look: reading.look ?? null, phrases: reading.phrases, words: reading.words },
      ...(caller.label ? { requested_by: caller.label } : {}),
    };
    return { body, provenance };
  }

  /**
   * Clips for given lengths from the caller's recordings, ranked for `text` (a template's prompt and
   * texts): the template library fills its `"source": "auto"` shots with these.
   */
  async moments(caller: StudioCaller, recordingIds: readonly string[] | undefined, text: string, lengths: readonly number[], seed: number, signal?: AbortSignal): Promise<PlannedMoment[]> {
    const recordings = await this.options.sources.recordings(caller, recordingIds);
    const plannable: PlannableRecording[] = [];
    for (const recording of recordings) plannable.push(await this.options.sources.plannable(recording, signal));
    return this.placeMoments(plannable, readPrompt(text, await this.options.presetNames()), lengths, seed);
  }

  private async templateHints(name: string): Promise<TemplateHints> {
    const hints = this.options.templateHints ? await this.options.templateHints(name) : undefined;
    if (!hints) throw new LivefxError('template_not_found', `no template named "${name}" (GET /v1/video/templates lists them)`, { details: { field: 'template' } });
    return hints;
  }

  /** The best non-overlapping moments for the given lengths, in recording order then time. */
  private placeMoments(plannable: readonly PlannableRecording[], reading: PromptReading, lengths: readonly number[], seed: number): PlannedMoment[] {
    const random = seededRandom(seed);
    const candidates: Candidate[] = [];
    for (const [order, recording] of plannable.entries()) candidates.push(...this.candidates(recording, order, reading, seed));
    // The seed only breaks ties between equal scores.
    const ranked = candidates.map((candidate) => ({ candidate, rank: candidate.score + random() * 1e-6 })).sort((a, b) => b.rank - a.rank);
    const taken: { recordingId: string; in: number; out: number }[] = [];
    const chosen: { candidate: Candidate; in: number; out: number }[] = [];
    // Longest shots take the best moments.
    const slots = lengths.map((length, slot) => ({ length, slot })).sort((a, b) => b.length - a.length || a.slot - b.slot);
    for (const { length } of slots) {
      for (const { candidate } of ranked) {
        const placed = this.place(candidate, length);
        if (!placed) continue;
        const id = candidate.recording.recording.id;
        if (taken.some((other) => other.recordingId === id && placed.in < other.out - 0.01 && other.in < placed.out - 0.01)) continue;
        taken.push({ recordingId: id, ...placed });
        chosen.push({ candidate, ...placed });
        break;
      }
    }
    chosen.sort((a, b) => a.candidate.order - b.candidate.order || a.in - b.in);
    return chosen.map(({ candidate, in: start, out }) => this.describe(candidate, start, out));
  }

  /** Every moment of one recording worth considering: transcript matches, engagement peaks, scene starts. */
  private candidates(plannable: PlannableRecording, order: number, reading: PromptReading, seed: number): Candidate[] {
    const { signals } = plannable;
    const found: Candidate[] = [];
    const phrases = reading.phrases;
    const words = new Set(reading.words);
    for (const sentence of signals.sentences) {
      const text = ` ${normalize(sentence.text)} `;
      const matchedPhrases = phrases.filter((phrase) => text.includes(` ${phrase} `));
      const matchedWords = [...new Set(sentence.words.map((word) => normalize(word.word)).filter((word) => words.has(word)))];
      if (matchedPhrases.length === 0 && matchedWords.length === 0) continue;
      const cited = matchedPhrases[0] ?? matchedWords.join(' ');
      found.push({ recording: plannable, order, anchor: sentence.start - LEAD_IN_S, score: 10 + 6 * matchedPhrases.length + 2 * matchedWords.length, reasons: [`transcript: '${cited}'`] });
    }
    const params: HighlightParams = { strategy: 'engagement_topk', k: 12, min_clip_s: 4, max_clip_s: 20, remove_dead_air: true, captions: 'none', chapters: false, quality: 'final', seed };
    const peaks = this.engagement.select(signals, params);
    const best = Math.max(1e-9, ...peaks.map((peak) => peak.score));
    for (const peak of peaks) found.push({ recording: plannable, order, anchor: peak.start, score: 1 + 5 * (peak.score / best), reasons: [] });
    // Scene starts: something to show when nothing was said or done (a quiet recording still gets a storyboard).
    const starts = [0, ...signals.sceneCuts];
    for (const start of starts) if (!inDeadAir(signals, start + 0.5)) found.push({ recording: plannable, order, anchor: start, score: 0.1, reasons: [] });
    return found;
  }

  /** The range a candidate gives for a length: snapped to speech and scene cuts, clear of dead air, inside the recording. */
  private place(candidate: Candidate, length: number): { in: number; out: number } | undefined {
    const signals = candidate.recording.signals;
    const duration = signals.durationS;
    if (duration < Math.min(length, 1)) return undefined;
    const span = Math.min(length, duration);
    const options = [candidate.anchor];
    const near = (start: number): boolean => Math.abs(start - candidate.anchor) <= SNAP_S;
    // Starts on speech or a scene cut, or so that the shot ends on a scene cut or just after a sentence.
    for (const sentence of signals.sentences) {
      if (near(sentence.start - LEAD_IN_S)) options.push(sentence.start - LEAD_IN_S);
      if (near(sentence.end + LEAD_IN_S - span)) options.push(sentence.end + LEAD_IN_S - span);
    }
    for (const cut of signals.sceneCuts) {
      if (near(cut)) options.push(cut);
      if (near(cut - span)) options.push(cut - span);
    }
    // A cut less than a second inside either end would flash the other scene.
    const flashes = (from: number, to: number): boolean => signals.sceneCuts.some((cut) => cut > from + 0.05 && cut < to - 0.05);
    let best: { in: number; out: number; cost: number } | undefined;
    for (const option of options) {
      let start = Math.min(Math.max(0, option), duration - span);
      // Never start in dead air: move to where it ends.
      for (const [deadStart, deadEnd] of signals.deadAir) if (start >= deadStart - 0.01 && start < deadEnd) start = Math.min(deadEnd, duration - span);
      const out = start + span;
      const deadInside = signals.deadAir.reduce((total, [deadStart, deadEnd]) => total + Math.max(0, Math.min(out, deadEnd) - Math.max(start, deadStart)), 0);
      const speechCut = signals.sentences.some((sentence) => sentence.start < start - 0.05 && sentence.end > start + 0.05) ? 1 : 0;
      const cost =
        Math.abs(start - candidate.anchor) * 0.2 +
        deadInside * 3 +
        distanceToEnd(signals.sentences, out) * 0.3 +
        speechCut +
        (flashes(start, start + 1) ? 2 : 0) +
        (flashes(out - 1, out) ? 2 : 0) +
        (inDeadAir(signals, start) ? 100 : 0);
      if (!best || cost < best.cost - 1e-9) best = { in: round3(start), out: round3(out), cost };
    }
    return best && !inDeadAir(signals, best.in) ? { in: best.in, out: best.out } : undefined;
  }

  private describe(candidate: Candidate, start: number, out: number): PlannedMoment {
    const signals = candidate.recording.signals;
    const reasons = [...candidate.reasons, ...clipReasons(signals, start, out)];
    const scene = 1 + signals.sceneCuts.filter((cut) => cut <= start + 0.05).length;
    reasons.push(`scene ${scene}`);
    if (signals.sceneCuts.some((cut) => Math.abs(cut - start) < 0.05)) reasons.push('starts on a scene cut');
    if (signals.sceneCuts.some((cut) => Math.abs(cut - out) < 0.05)) reasons.push('ends on a scene cut');
    else if (signals.sentences.some((sentence) => Math.abs(sentence.end - out) < 0.5)) reasons.push('ends at a sentence end');
    if (signals.deadAir.some(([deadStart, deadEnd]) => deadEnd > start - 1 && deadStart < out + 1)) reasons.push('dead air left out');
    const recording = candidate.recording.recording;
    if (reasons.length === 1 && candidate.reasons.length === 0) reasons.unshift('nothing matched the prompt here: chosen for its scene');
    reasons.push(`from "${recording.title}"`);
    const spoken = signals.sentences.some((sentence) => sentence.end > start && sentence.start < out);
    return { source: { recording_id: recording.id, in: start, out }, reasons, spoken };
  }

  private cameraFor(aspect: Aspect, style: string, random: () => number): CameraMove {
    // A vertical or square cut of a landscape recording follows the face it shows.
    if (aspect !== '16:9') return 'follow-face';
    const moves: CameraMove[] = style === 'cinematic' ? ['push-in', 'pull-out', 'pan-left', 'pan-right'] : ['static', 'static', 'push-in', 'pull-out'];
    return moves[Math.floor(random() * moves.length)] ?? CAMERA_MOVES[0];
  }

  private transitionInto(previous: Omit<Shot, 'index' | 'start'> | undefined, moment: PlannedMoment, style: string): Shot['transition'] {
    const sameRecording = previous?.source && 'recording_id' in previous.source && previous.source.recording_id === moment.source.recording_id;
    if (previous?.kind === 'clip' && sameRecording && style !== 'cinematic') return { name: 'cut', duration: 0 };
    return { name: 'fade', duration: TRANSITION_S };
  }
}

/** `count` lengths in whole quarter seconds adding up to `total` (the last takes the remainder). */
export function allot(total: number, count: number): number[] {
  const each = Math.max(QUANTUM_S, quantize(total / count));
  const lengths = Array.from({ length: count }, () => each);
  lengths[count - 1] = round3(total - each * (count - 1));
  return lengths;
}

function quantize(seconds: number): number {
  return Math.floor(seconds / QUANTUM_S) * QUANTUM_S;
}

function inDeadAir(signals: RecordingSignals, t: number): boolean {
  return signals.deadAir.some(([start, end]) => t >= start - 0.01 && t < end);
}

function distanceToEnd(sentences: readonly Sentence[], t: number): number {
  let best = SNAP_S;
  for (const sentence of sentences) best = Math.min(best, Math.abs(sentence.end - t));
  return best;
}

function titleOf(reading: PromptReading, prompt: string): string {
  const text = reading.subject || prompt;
  const title = capitalize(text.replace(/[,;]\s*$/, ''));
  return title.length > 80 ? `${title.slice(0, 77).trimEnd()}…` : title;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
