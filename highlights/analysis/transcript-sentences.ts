import type { RecordingEvent } from '../../recorder/recording-catalog.js';

export interface TranscriptWord {
  word: string;
  start: number;
  end: number;
}

export interface Sentence {
  start: number;
  end: number;
  text: string;
  words: TranscriptWord[];
}

/** A pause longer than this ends a sentence. */
const SENTENCE_GAP_S = 0.7;

/**
 * Sentences from `transcript-word` events (`t` = word start, payload `{ word, end, conf }`): a gap over
 * 0.7 s or a word ending in . ! ? closes one.
 */
export function transcriptSentences(events: readonly RecordingEvent[]): Sentence[] {
  const words: TranscriptWord[] = events
    .filter((event) => event.type === 'transcript-word' && typeof event.payload.word === 'string')
    .map((event) => ({ word: String(event.payload.word), start: event.t, end: typeof event.payload.end === 'number' ? event.payload.end : event.t + 0.3 }))
    .sort((a, b) => a.start - b.start);
  const sentences: Sentence[] = [];
  let current: TranscriptWord[] = [];
  const close = (): void => {
    if (current.length === 0) return;
    sentences.push({ start: current[0]!.start, end: current[current.length - 1]!.end, text: current.map((word) => word.word).join(' '), words: current });
    current = [];
  };
  for (const word of words) {
    const previous = current[current.length - 1];
    if (previous && word.start - previous.end > SENTENCE_GAP_S) close();
    current.push(word);
    if (/[.!?]["')\]]*$/.test(word.word)) close();
  }
  close();
  return sentences;
}
