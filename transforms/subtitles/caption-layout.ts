import type { AsrResult, AsrWord } from './asr-engine.js';
import { maskProfanity } from './profanity-mask.js';
import { writeNumbersAsDigits } from './spoken-numbers.js';

export interface CaptionLayoutOptions {
  /** Lines per cue (default 2). */
  maxLines?: number;
  /** Characters per line (default 42, the broadcast norm). */
  maxLineLength?: number;
  /** A cue stays up at least this long; the next one waits if need be (default 1000 ms). */
  minDisplayMs?: number;
  /** A cue never stays up longer; words beyond start a new cue (default 6000 ms). */
  maxDisplayMs?: number;
  /** How long a cue stays after its last word ends (default 800 ms). */
  lingerMs?: number;
  /** Silence between words that starts a new cue (default 1500 ms). */
  pauseMs?: number;
  /** "twenty three" → "23" (default true). */
  digits?: boolean;
  /** "shit" → "s***" (default false). */
  maskProfanity?: boolean;
}

/**
 * One caption on screen. A cue keeps its id while it changes (partial words updated in place, then
 * settled by the recogniser's final: `partial` turns false); `final` cues never change again. A cue with no lines withdraws an earlier one of that id
 * (a partial had spilled into it, the final did not).
 */
export interface CaptionCue {
  id: number;
  startMs: number;
  endMs: number;
  lines: string[];
  /** The words shown, after digits and masking, with their times. */
  words: AsrWord[];
  /** Some of its words come from a partial hypothesis: the recogniser's final may still correct them (in this cue, same id). */
  partial: boolean;
  final: boolean;
}

interface Token extends AsrWord {
  committed: boolean;
}

interface DraftCue {
  tokens: Token[];
  lines: string[];
}

/**
 * Turns a recogniser's partial and final results into caption cues: at most maxLines lines of
 * maxLineLength characters, minimum and maximum display times. Pure and deterministic: the same
 * results in the same order give the same cues, which is what the tests and the WebVTT writer rely on.
 */
export class CaptionLayout {
  private readonly maxLines: number;
  private readonly maxLineLength: number;
  private readonly minDisplayMs: number;
  private readonly maxDisplayMs: number;
  private readonly lingerMs: number;
  private readonly pauseMs: number;
  private readonly digits: boolean;
  private readonly mask: boolean;
  /** Final words not yet in a closed cue. */
  private committed: Token[] = [];
  /** The latest partial's words (replaced by every partial, dropped by the final). */
  private tentative: Token[] = [];
  private nextId = 0;
  private previousCueStartMs = Number.NEGATIVE_INFINITY;
  private shown = new Map<number, string>();

  constructor(options: CaptionLayoutOptions = {}) {
    this.maxLines = options.maxLines ?? 2;
    this.maxLineLength = options.maxLineLength ?? 42;
    this.minDisplayMs = options.minDisplayMs ?? 1000;
    this.maxDisplayMs = options.maxDisplayMs ?? 6000;
    this.lingerMs = options.lingerMs ?? 800;
    this.pauseMs = options.pauseMs ?? 1500;
    this.digits = options.digits ?? true;
    this.mask = options.maskProfanity ?? false;
  }

  /** Takes one result; returns the cues it created, changed, closed or withdrew, in id order. */
  push(kind: 'partial' | 'final', result: AsrResult): CaptionCue[] {
    const tokens = this.prepare(result.words, kind === 'final');
    if (kind === 'final') {
      this.committed.push(...tokens);
      this.tentative = [];
    } else {
      this.tentative = tokens;
    }
    return this.update(false);
  }

  /** The end of the stream (or a gap): closes every open cue; returns them. */
  finish(): CaptionCue[] {
    this.tentative = [];
    return this.update(true);
  }

  private prepare(words: readonly AsrWord[], committed: boolean): Token[] {
    let shaped = this.digits ? writeNumbersAsDigits(words) : [...words];
    shaped = shaped.map((word, index) => {
      let text = this.mask ? maskProfanity(word.word) : word.word;
      if (/^i('|$)/.test(text)) text = `I${text.slice(1)}`;
      // Each utterance reads as a sentence.
      if (index === 0) text = text.charAt(0).toUpperCase() + text.slice(1);
      return { ...word, word: text };
    });
    return shaped.map((word) => ({ ...word, committed }));
  }

  private update(closeAll: boolean): CaptionCue[] {
    const drafts = this.layout([...this.committed, ...this.tentative]);
    const changes: CaptionCue[] = [];
    let index = 0;
    // Leading cues made only of final words, with a cue after them, will never change: close them.
    for (; index < drafts.length; index++) {
      const draft = drafts[index]!;
      const isLast = index === drafts.length - 1;
      if (!closeAll && (isLast || draft.tokens.some((token) => !token.committed))) break;
      const cue = this.toCue(draft, this.nextId, drafts[index + 1], true);
      changes.push(cue);
      this.shown.delete(cue.id);
      this.previousCueStartMs = cue.startMs;
      this.committed.splice(0, draft.tokens.length);
      this.nextId++;
    }
    const open = drafts.slice(index);
    let previousStart = this.previousCueStartMs;
    open.forEach((draft, offset) => {
      const cue = this.toCue(draft, this.nextId + offset, open[offset + 1], false, previousStart);
      previousStart = cue.startMs;
      // A final that confirms the partial word for word still changes the cue: its words are settled now.
      const signature = JSON.stringify([cue.startMs, cue.endMs, cue.lines, cue.partial]);
      if (this.shown.get(cue.id) !== signature) {
        this.shown.set(cue.id, signature);
        changes.push(cue);
      }
    });
    for (const id of [...this.shown.keys()]) {
      if (id >= this.nextId + open.length) {
        this.shown.delete(id);
        changes.push({ id, startMs: 0, endMs: 0, lines: [], words: [], partial: false, final: false });
      }
    }
    return changes.sort((a, b) => a.id - b.id);
  }

  private layout(tokens: Token[]): DraftCue[] {
    const cues: DraftCue[] = [];
    let current: DraftCue | undefined;
    for (const token of tokens) {
      if (current) {
        const first = current.tokens[0]!;
        const last = current.tokens[current.tokens.length - 1]!;
        const pause = token.startMs - last.endMs > this.pauseMs;
        const tooLong = token.endMs - first.startMs > this.maxDisplayMs;
        if (pause || tooLong || !this.fits(current, token.word)) {
          cues.push(current);
          current = undefined;
        }
      }
      if (!current) current = { tokens: [], lines: [''] };
      const lineIndex = current.lines.length - 1;
      const line = current.lines[lineIndex]!;
      if (line === '') current.lines[lineIndex] = token.word;
      else if (line.length + 1 + token.word.length <= this.maxLineLength) current.lines[lineIndex] = `${line} ${token.word}`;
      else current.lines.push(token.word);
      current.tokens.push(token);
    }
    if (current) cues.push(current);
    return cues;
  }

  private fits(cue: DraftCue, word: string): boolean {
    const line = cue.lines[cue.lines.length - 1]!;
    return line.length + 1 + word.length <= this.maxLineLength || cue.lines.length < this.maxLines;
  }

  private toCue(draft: DraftCue, id: number, next: DraftCue | undefined, final: boolean, previousStartMs = this.previousCueStartMs): CaptionCue {
    const first = draft.tokens[0]!;
    const last = draft.tokens[draft.tokens.length - 1]!;
    // The previous cue keeps its minimum time on screen, so this one may have to wait.
    const startMs = Math.max(first.startMs, previousStartMs + this.minDisplayMs);
    let endMs = Math.min(startMs + this.maxDisplayMs, Math.max(startMs + this.minDisplayMs, last.endMs + this.lingerMs));
    if (next) endMs = Math.min(endMs, Math.max(next.tokens[0]!.startMs, startMs + this.minDisplayMs));
    return {
      id,
      startMs,
      endMs,
      lines: [...draft.lines],
      words: draft.tokens.map(({ committed: _committed, ...word }) => word),
      partial: draft.tokens.some((token) => !token.committed),
      final,
    };
  }
}
