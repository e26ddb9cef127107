import type { AsrResult, AsrWord } from './asr-engine.js';
import { CaptionLayout } from './caption-layout.js';
import type { Transcript } from './transcript-formats.js';

/** A silence this long between two recorded words starts a new utterance (a line of the text format). */
const UTTERANCE_PAUSE_MS = 1000;

/**
 * A recording's `transcript-word` events (times in ms on the session clock) as a Transcript, so the
 * WebVTT, SRT and text writers of file transcription serve recordings too.
 */
export function transcriptFromWords(words: readonly AsrWord[], source: string, durationMs: number): Transcript {
  const utterances: AsrResult[] = [];
  let current: AsrWord[] = [];
  for (const word of words) {
    const previous = current[current.length - 1];
    if (previous && word.startMs - previous.endMs > UTTERANCE_PAUSE_MS) {
      utterances.push({ text: current.map((w) => w.word).join(' '), words: current });
      current = [];
    }
    current.push(word);
  }
  if (current.length > 0) utterances.push({ text: current.map((w) => w.word).join(' '), words: current });
  const layout = new CaptionLayout();
  const cues = new Map<number, ReturnType<CaptionLayout['finish']>[number]>();
  const keep = (changed: ReturnType<CaptionLayout['finish']>): void => {
    for (const cue of changed) {
      if (cue.lines.length === 0) cues.delete(cue.id);
      else cues.set(cue.id, cue);
    }
  };
  for (const utterance of utterances) keep(layout.push('final', utterance));
  keep(layout.finish());
  return {
    file: source,
    durationMs,
    engine: { name: 'live', version: '' },
    utterances,
    words: [...words],
    cues: [...cues.values()].sort((a, b) => a.id - b.id),
    maskProfanity: false,
  };
}
