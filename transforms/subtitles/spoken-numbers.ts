import type { AsrWord } from './asr-engine.js';

const UNITS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9,
  ten: 10, eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16,
  seventeen: 17, eighteen: 18, nineteen: 19,
};
const TENS: Record<string, number> = { twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 };
const SCALES: Record<string, number> = { thousand: 1000, million: 1_000_000 };

interface NumberPhrase {
  value: number;
  /** Words consumed. */
  length: number;
  /** What each consumed word was, so a trailing "and" can be given back. */
  kinds: string[];
}

/**
 * Reads the longest number phrase at `start`: "twenty three", "two hundred and five",
 * "four thousand six hundred". Digit sequences said one by one ("one two three") are not one number.
 */
function readNumber(words: readonly string[], start: number): NumberPhrase | undefined {
  let total = 0;
  let current = 0;
  let length = 0;
  let last: 'none' | 'unit' | 'teen' | 'tens' | 'tens-unit' | 'hundred' | 'scale' = 'none';
  const kinds: string[] = [];
  for (let index = start; index < words.length; index++) {
    const word = words[index]!;
    const next = words[index + 1];
    if (word === 'and' && (last === 'hundred' || last === 'scale') && next !== undefined && (next in UNITS || next in TENS)) {
      length++;
      kinds.push('and');
      continue;
    }
    if (word === 'a' && last === 'none' && next !== undefined && (next === 'hundred' || next in SCALES)) {
      current = 1;
      last = 'unit';
      length++;
      kinds.push('unit');
      continue;
    }
    if (word in UNITS) {
      const value = UNITS[word]!;
      if (last === 'tens' && value >= 1 && value <= 9) {
        current += value;
        last = 'tens-unit';
      } else if (last === 'none' || last === 'hundred' || last === 'scale') {
        current += value;
        last = value < 10 ? 'unit' : 'teen';
      } else break;
    } else if (word in TENS) {
      if (last === 'none' || last === 'hundred' || last === 'scale') {
        current += TENS[word]!;
        last = 'tens';
      } else break;
    } else if (word === 'hundred') {
      if ((last === 'unit' || last === 'teen' || last === 'tens-unit' || last === 'tens') && current > 0 && current < 100) {
        current *= 100;
        last = 'hundred';
      } else break;
    } else if (word in SCALES) {
      if (last !== 'none' && last !== 'scale' && current > 0) {
        total += current * SCALES[word]!;
        current = 0;
        last = 'scale';
      } else break;
    } else break;
    length++;
    kinds.push(last);
  }
  // A phrase may not end on "and".
  while (kinds[kinds.length - 1] === 'and') {
    kinds.pop();
    length--;
  }
  if (length === 0) return undefined;
  return { value: total + current, length, kinds };
}

const HOURS = new Set(['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve']);

/** "seven thirty" → "7:30", "ten fifteen" → "10:15", "six oh five" → "6:05", "nine o'clock" → "9:00". */
function readTime(words: readonly string[], start: number): { text: string; length: number } | undefined {
  const hourWord = words[start];
  if (hourWord === undefined || !HOURS.has(hourWord)) return undefined;
  const hour = UNITS[hourWord]!;
  const next = words[start + 1];
  if (next === "o'clock") return { text: `${hour}:00`, length: 2 };
  if (next === 'oh') {
    const minute = words[start + 2];
    if (minute !== undefined && minute in UNITS && UNITS[minute]! >= 1 && UNITS[minute]! <= 9) return { text: `${hour}:0${UNITS[minute]}`, length: 3 };
    return undefined;
  }
  // Minutes must be a teen, a tens word or tens + unit: "seven five" stays words.
  const minutes = readNumber(words, start + 1);
  if (!minutes || minutes.value < 10 || minutes.value > 59 || minutes.length > 2) return undefined;
  return { text: `${hour}:${minutes.value}`, length: 1 + minutes.length };
}

function merge(words: readonly AsrWord[], start: number, length: number, text: string): AsrWord {
  const span = words.slice(start, start + length);
  const confidences = span.map((word) => word.conf).filter((conf): conf is number => conf !== undefined);
  return {
    word: text,
    startMs: span[0]!.startMs,
    endMs: span[span.length - 1]!.endMs,
    ...(confidences.length > 0 ? { conf: Math.min(...confidences) } : {}),
  };
}

/**
 * Writes numbers as digits where that cannot mislead: compound numbers and anything from ten up
 * ("twenty three" → "23", "two hundred" → "200"), clock times ("seven thirty" → "7:30"); a lone
 * "one" to "nine" stays a word ("one of them"), as style guides for captions ask.
 */
export function writeNumbersAsDigits(words: readonly AsrWord[]): AsrWord[] {
  const lower = words.map((word) => word.word.toLowerCase());
  const output: AsrWord[] = [];
  for (let index = 0; index < words.length; ) {
    const time = readTime(lower, index);
    if (time) {
      output.push(merge(words, index, time.length, time.text));
      index += time.length;
      continue;
    }
    const phrase = readNumber(lower, index);
    if (phrase && (phrase.length > 1 || phrase.value >= 10)) {
      output.push(merge(words, index, phrase.length, String(phrase.value)));
      index += phrase.length;
      continue;
    }
    output.push(words[index]!);
    index++;
  }
  return output;
}

const UNIT_WORDS = Object.keys(UNITS);
const TENS_WORDS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** 0 … 999,999,999 as words without "and": 205 → "two hundred five", 23 → "twenty three". */
export function spellNumber(value: number): string[] {
  if (!Number.isInteger(value) || value < 0 || value >= 1_000_000_000) throw new RangeError(`cannot spell ${value}`);
  if (value === 0) return ['zero'];
  const words: string[] = [];
  const belowThousand = (part: number): void => {
    if (part >= 100) words.push(UNIT_WORDS[Math.floor(part / 100)]!, 'hundred');
    const rest = part % 100;
    if (rest >= 20) {
      words.push(TENS_WORDS[Math.floor(rest / 10)]!);
      if (rest % 10 > 0) words.push(UNIT_WORDS[rest % 10]!);
    } else if (rest > 0) words.push(UNIT_WORDS[rest]!);
  };
  for (const [scale, name] of [[1_000_000, 'million'], [1000, 'thousand']] as const) {
    if (value >= scale) {
      belowThousand(Math.floor(value / scale));
      words.push(name);
      value %= scale;
    }
  }
  belowThousand(value);
  return words;
}

/** One written token as the words a speaker says: "205" → two hundred five, "7:30" → seven thirty, "9:00" → nine o'clock, "7:05" → seven oh five. */
export function spellDigits(token: string): string[] {
  const time = /^(\d{1,2}):(\d\d)$/.exec(token);
  if (time) {
    const minutes = Number(time[2]);
    const hour = spellNumber(Number(time[1]));
    if (minutes === 0) return [...hour, "o'clock"];
    return minutes < 10 ? [...hour, 'oh', ...spellNumber(minutes)] : [...hour, ...spellNumber(minutes)];
  }
  const number = /^(\d{1,3}(?:,\d{3})+|\d{1,9})(%?)$/.exec(token);
  if (number) return [...spellNumber(Number(number[1]!.replaceAll(',', ''))), ...(number[2] ? ['percent'] : [])];
  // A long digit string (a code, a year said digit by digit) is read one digit at a time.
  if (/^\d+$/.test(token)) return [...token].map((digit) => UNIT_WORDS[Number(digit)]!);
  return [token];
}

/**
 * Number phrases in one canonical spoken form, so texts can be compared as words whichever way a
 * number was written: "two hundred and five", "a hundred" → "two hundred five", "one hundred".
 */
export function canonicalNumberWords(words: readonly string[]): string[] {
  const output: string[] = [];
  for (let index = 0; index < words.length; ) {
    const phrase = readNumber(words, index);
    if (phrase) {
      output.push(...spellNumber(phrase.value));
      index += phrase.length;
    } else {
      output.push(words[index]!);
      index++;
    }
  }
  return output;
}
