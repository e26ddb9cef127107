import { LOOKS, type Aspect } from './storyboard.js';

/** What a prompt says beside its subject: each field undefined when the prompt does not say. */
export interface PromptReading {
  durationS?: number;
  aspect?: Aspect;
  /** A name of LOOKS, or a stored preset's name as written in the prompt. */
  look?: string;
  /** Multi-word phrases first ("weekend plans"), then single words ("garden"), all lower case. */
  phrases: string[];
  words: string[];
  titleCard: boolean;
  endCard: boolean;
  /** true / false when the prompt asks for or against captions. */
  captions?: boolean;
  music?: 'uplift' | 'calm' | 'drive';
  voiceover: boolean;
  /** The prompt without the format words: the title of a title card. */
  subject: string;
}

const NUMBER_WORDS: Record<string, number> = { a: 1, an: 1, one: 1, two: 2, three: 3, half: 0.5, ten: 10, fifteen: 15, twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, ninety: 90 };

/** Words that say what to make, not what it is about. */
const STOPWORDS = new Set(
  `a an the and or of to in on at for from with by about into over under this that these those it its is are was were be been my our your their his her
  me we us you they i make made create give get show want need please some any all every just only more most very really
  recap recaps video videos clip clips short shorts reel reels promo trailer highlight highlights montage compilation edit cut story storyboard
  seconds secs minute minutes mins long length duration
  look looks style styled feel vibe tone grade graded colour color filter aspect ratio format
  vertical portrait square landscape widescreen horizontal tiktok instagram youtube
  title titles card cards end outro intro call action captions caption subtitles subtitle music soundtrack voiceover voice over narration narrated
  moment moments best part parts bit bits stream streams recording recordings`.split(/\s+/),
);

const LOOK_SYNONYMS: [RegExp, (typeof LOOKS)[number]][] = [
  [/\b(black and white|black & white|b&w|monochrome|grayscale|greyscale)\b/i, 'mono'],
  [/\b(film|filmic|movie)\s+(look|style|feel)\b/i, 'cinematic'],
  [/\b(vibrant|saturated|punchy|colou?rful)\b/i, 'vivid'],
  [/\b(cosy|cozy|golden|sunny)\s+(look|style|feel)\b/i, 'warm'],
];

/**
 * Reads a prompt such as "30s recap of the garden hour and the weekend plans, warm look, vertical":
 * duration, aspect, look, title/end card, captions, music, and the subject's phrases and words.
 * `presetNames`: stored presets a prompt may name as its look.
 */
export function readPrompt(prompt: string, presetNames: readonly string[] = []): PromptReading {
  let rest = ` ${prompt.replace(/\s+/g, ' ')} `;
  const take = (pattern: RegExp): RegExpExecArray | null => {
    const match = pattern.exec(rest);
    if (match) rest = `${rest.slice(0, match.index)} , ${rest.slice(match.index + match[0].length)}`;
    return match;
  };
  const reading: PromptReading = { phrases: [], words: [], titleCard: false, endCard: false, voiceover: false, subject: '' };

  const duration = take(/\b(\d+(?:\.\d+)?|a|an|one|two|three|half|ten|fifteen|twenty|thirty|forty|fifty|sixty|ninety)[\s-]*(s|secs?|seconds?|m|mins?|minutes?)\b(?:\s+(?:long|video|clip))?/i);
  if (duration) {
    const amount = Number.isFinite(Number(duration[1])) ? Number(duration[1]) : NUMBER_WORDS[duration[1]!.toLowerCase()]!;
    const seconds = /^m/i.test(duration[2]!) ? amount * 60 : amount;
    reading.durationS = Math.min(180, Math.max(5, seconds));
  } else if (take(/\bhalf (a|an) minute\b/i)) reading.durationS = 30;

  if (take(/\b(9\s*:\s*16|vertical|portrait|tiktok|reels?|shorts?)\b/i)) reading.aspect = '9:16';
  else if (take(/\b(1\s*:\s*1|square)\b/i)) reading.aspect = '1:1';
  else if (take(/\b(16\s*:\s*9|landscape|widescreen|horizontal)\b/i)) reading.aspect = '16:9';

  for (const name of [...presetNames].sort((a, b) => b.length - a.length)) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (take(new RegExp(`(?<![\\w-])${escaped}(?![\\w-])(\\s+(look|style|preset|grade))?`, 'i'))) {
      reading.look = name;
      break;
    }
  }
  if (!reading.look) {
    const named = take(new RegExp(`\\b(${LOOKS.join('|')})\\b(\\s+(look|style|grade|feel|colou?rs?))?`, 'i'));
    if (named) reading.look = named[1]!.toLowerCase();
    else {
      for (const [pattern, look] of LOOK_SYNONYMS) {
        if (take(pattern)) {
          reading.look = look;
          break;
        }
      }
    }
  }

  if (take(/\b(no|without)\s+(captions|subtitles)\b/i)) reading.captions = false;
  else if (take(/\b(with\s+)?(captions|subtitles|captioned|subtitled)\b/i)) reading.captions = true;
  if (take(/\b(?:and\s+)?(?:with\s+)?(?:an?\s+)?(?:title card|title shot|title screen|intro card|opening title)s?\b|\bwith an? title\b/i)) reading.titleCard = true;
  if (take(/\b(?:and\s+)?(?:with\s+)?(?:an?\s+)?(?:end card|end screen|outro|closing card|call to action)\b/i)) reading.endCard = true;
  const music = take(/\b(calm|chill|relaxed|gentle|upbeat|uplifting|happy|energetic|driving|intense|hype)?\s*(music|soundtrack|beat)\b/i);
  if (music) reading.music = /calm|chill|relax|gentle/i.test(music[1] ?? '') ? 'calm' : /energetic|driving|intense|hype/i.test(music[1] ?? '') ? 'drive' : 'uplift';
  if (take(/\b(voice[- ]?over|narrat(ed|ion|or))\b/i)) reading.voiceover = true;

  reading.subject = rest
    .replace(/\s*,\s*(,\s*)*/g, ', ')
    .replace(/^[\s,]+|[\s,.]+$/g, '')
    .replace(/^((recap|video|clip|promo|reel|montage)\s+)?(of|about|on)\s+/i, '');
  // Phrases are runs of content words between stopwords and punctuation ("the garden hour" → "garden hour").
  const tokens = rest.toLowerCase().split(/([^\p{L}\p{N}'-]+)/u);
  let run: string[] = [];
  const phrases: string[] = [];
  const closeRun = (): void => {
    if (run.length > 0) phrases.push(run.join(' '));
    run = [];
  };
  for (const token of tokens) {
    // Separators: spaces keep a phrase going, punctuation ends it.
    if (!/[\p{L}\p{N}]/u.test(token)) {
      if (/[^\s'-]/.test(token)) closeRun();
      continue;
    }
    const word = token.replace(/^['-]+|['-]+$/g, '');
    if (STOPWORDS.has(word) || /^\d+$/.test(word) || word.length < 2) closeRun();
    else run.push(word);
  }
  closeRun();
  const unique = <T>(items: T[]): T[] => [...new Set(items)];
  reading.phrases = unique(phrases.filter((phrase) => phrase.includes(' ')));
  reading.words = unique(phrases.flatMap((phrase) => phrase.split(' ')));
  return reading;
}
