import { canonicalNumberWords, spellDigits } from './spoken-numbers.js';

/** How a hypothesis differs from its reference, word by word. */
export interface WordErrors {
  substitutions: number;
  deletions: number;
  insertions: number;
  /** Words in the reference. */
  referenceWords: number;
  /** (substitutions + deletions + insertions) / referenceWords; 0 or 1 for an empty reference. */
  rate: number;
}

/**
 * A text as the words to score: lower case, punctuation dropped, numbers spelled out in one form.
 * Captions write "23" and "7:30" where a reference says "twenty three" and "seven thirty"; scored as
 * words both forms are the same, so a transcript is not charged for the digits it shows.
 */
export function scoringWords(text: string): string[] {
  const tokens = text
    .toLowerCase()
    .replace(/[‘’]/g, "'")
    // Keep what makes a number ("1,000", "7:30", "10%") and a contraction ("it's"); anything else separates words.
    .replace(/[^a-z0-9',:%]+/g, ' ')
    .replace(/(?<!\d)[,:%]|[,:](?!\d)/g, ' ')
    .split(/\s+/)
    .map((token) => token.replace(/^'+|'+$/g, ''))
    .filter((token) => token !== '');
  return canonicalNumberWords(tokens.flatMap(spellDigits));
}

/** Word-level edit distance (Levenshtein over words) split into its kinds. */
export function wordErrors(reference: readonly string[], hypothesis: readonly string[]): WordErrors {
  // Each cell holds the cost and, to split it by kind afterwards, how it was reached.
  const columns = hypothesis.length + 1;
  const cost = new Uint32Array((reference.length + 1) * columns);
  const step = new Uint8Array((reference.length + 1) * columns);
  const MATCH = 0;
  const SUBSTITUTION = 1;
  const DELETION = 2;
  const INSERTION = 3;
  for (let column = 1; column < columns; column++) {
    cost[column] = column;
    step[column] = INSERTION;
  }
  for (let row = 1; row <= reference.length; row++) {
    cost[row * columns] = row;
    step[row * columns] = DELETION;
    for (let column = 1; column < columns; column++) {
      const same = reference[row - 1] === hypothesis[column - 1];
      const diagonal = cost[(row - 1) * columns + column - 1]! + (same ? 0 : 1);
      const deletion = cost[(row - 1) * columns + column]! + 1;
      const insertion = cost[row * columns + column - 1]! + 1;
      const best = Math.min(diagonal, deletion, insertion);
      cost[row * columns + column] = best;
      step[row * columns + column] = best === diagonal ? (same ? MATCH : SUBSTITUTION) : best === deletion ? DELETION : INSERTION;
    }
  }
  const errors = { substitutions: 0, deletions: 0, insertions: 0 };
  for (let row = reference.length, column = hypothesis.length; row > 0 || column > 0; ) {
    const kind = step[row * columns + column]!;
    if (kind === MATCH || kind === SUBSTITUTION) {
      if (kind === SUBSTITUTION) errors.substitutions++;
      row--;
      column--;
    } else if (kind === DELETION) {
      errors.deletions++;
      row--;
    } else {
      errors.insertions++;
      column--;
    }
  }
  const total = errors.substitutions + errors.deletions + errors.insertions;
  const rate = reference.length === 0 ? (hypothesis.length === 0 ? 0 : 1) : total / reference.length;
  return { ...errors, referenceWords: reference.length, rate };
}

/** Word error rate of two texts compared as spoken words ("5" and "five" score the same). */
export function spokenWordErrorRate(reference: string, hypothesis: string): number {
  return wordErrors(scoringWords(reference), scoringWords(hypothesis)).rate;
}
