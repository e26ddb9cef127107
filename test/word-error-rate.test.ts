import { describe, expect, it } from 'vitest';
import type { AsrWord } from '../transforms/subtitles/asr-engine.js';
import { spellDigits, spellNumber, writeNumbersAsDigits } from '../transforms/subtitles/spoken-numbers.js';
import { scoringWords, spokenWordErrorRate, wordErrors } from '../transforms/subtitles/word-error-rate.js';

const asWords = (text: string): AsrWord[] => text.split(' ').map((word, index) => ({ word, startMs: index * 300, endMs: index * 300 + 250 }));
/** What a caption shows for a recognised text: digits where the layout writes them. */
const captionText = (text: string): string => writeNumbersAsDigits(asWords(text)).map((word) => word.word).join(' ');

describe('word error rate scored as words', () => {
  it('scores a number the same whether it is written in digits or in words, both ways', () => {
    expect(spokenWordErrorRate('I have 5 cats', 'i have five cats')).toBe(0);
    expect(spokenWordErrorRate('i have five cats', 'I have 5 cats')).toBe(0);
    expect(spokenWordErrorRate('We reached two hundred followers.', 'we reached 200 followers')).toBe(0);
    expect(spokenWordErrorRate('two hundred and five people', '205 people')).toBe(0);
    expect(spokenWordErrorRate('It is twenty-three degrees', 'it is 23 degrees')).toBe(0);
    expect(spokenWordErrorRate('we leave at seven thirty', 'we leave at 7:30')).toBe(0);
    expect(spokenWordErrorRate("the shop opens at nine o'clock", 'the shop opens at 9:00')).toBe(0);
    expect(spokenWordErrorRate('call me at six oh five', 'call me at 6:05')).toBe(0);
    expect(spokenWordErrorRate('a hundred people', '100 people')).toBe(0);
    expect(spokenWordErrorRate('one thousand two hundred fans', '1,200 fans')).toBe(0);
  });

  it('charges a wrong number as many words as are said differently', () => {
    // "twenty three" against "twenty four": one of two spoken words is wrong, of four in all.
    expect(spokenWordErrorRate('it is twenty three', 'it is 24')).toBe(0.25);
    // "23" against "twenty": one deletion ("three") over four spoken words.
    expect(spokenWordErrorRate('it is 23', 'it is twenty')).toBe(0.25);
    expect(spokenWordErrorRate('it is 5', 'it is 6')).toBe(1 / 3);
  });

  it('scores what the captions show as well as what the engine said', () => {
    const spoken = 'we need twenty three more points by seven thirty';
    const shown = captionText(spoken);
    // Captions keep digits for display ...
    expect(shown).toBe('we need 23 more points by 7:30');
    // ... and the scorer does not charge them for it.
    expect(spokenWordErrorRate(spoken, shown)).toBe(0);
    expect(spokenWordErrorRate('We need 23 more points by 7:30.', spoken)).toBe(0);
  });

  it('splits the edit distance into substitutions, deletions and insertions', () => {
    const errors = wordErrors(['the', 'cat', 'sat', 'down'], ['the', 'bat', 'sat', 'down', 'now']);
    expect(errors).toEqual({ substitutions: 1, deletions: 0, insertions: 1, referenceWords: 4, rate: 0.5 });
    expect(wordErrors(['a', 'b', 'c'], ['a'])).toMatchObject({ deletions: 2, rate: 2 / 3 });
    expect(wordErrors([], [])).toMatchObject({ rate: 0 });
    expect(wordErrors([], ['noise'])).toMatchObject({ insertions: 1, rate: 1 });
  });

  it('drops punctuation and case but keeps contractions', () => {
    expect(scoringWords("Hello, everyone! It's 10% louder, isn't it?")).toEqual(['hello', 'everyone', "it's", 'ten', 'percent', 'louder', "isn't", 'it']);
  });

  it('spells numbers the way they are said', () => {
    expect(spellNumber(0)).toEqual(['zero']);
    expect(spellNumber(19)).toEqual(['nineteen']);
    expect(spellNumber(205)).toEqual(['two', 'hundred', 'five']);
    expect(spellNumber(4600)).toEqual(['four', 'thousand', 'six', 'hundred']);
    expect(spellNumber(2_000_017)).toEqual(['two', 'million', 'seventeen']);
    expect(spellDigits('7:05')).toEqual(['seven', 'oh', 'five']);
    expect(spellDigits('word')).toEqual(['word']);
    expect(() => spellNumber(-1)).toThrow(RangeError);
  });
});
