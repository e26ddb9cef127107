import { describe, expect, it } from 'vitest';
import type { AsrResult, AsrWord } from '../transforms/subtitles/asr-engine.js';
import { CaptionLayout, type CaptionCue } from '../transforms/subtitles/caption-layout.js';
import { maskProfanity } from '../transforms/subtitles/profanity-mask.js';
import { writeNumbersAsDigits } from '../transforms/subtitles/spoken-numbers.js';

/** Hand-written timings: one word every `stepMs`, each 250 ms long. */
function words(text: string, startMs: number, stepMs = 300): AsrWord[] {
  return text.split(' ').map((word, index) => ({ word, startMs: startMs + index * stepMs, endMs: startMs + index * stepMs + 250 }));
}

function result(text: string, startMs: number, stepMs = 300): AsrResult {
  return { text, words: words(text, startMs, stepMs) };
}

/** The cues a viewer ends up with: the latest version of every id, withdrawn ones removed. */
function screen(changes: CaptionCue[][]): Map<number, CaptionCue> {
  const cues = new Map<number, CaptionCue>();
  for (const cue of changes.flat()) {
    if (cue.lines.length === 0) cues.delete(cue.id);
    else cues.set(cue.id, cue);
  }
  return cues;
}

const digits = (text: string): string => writeNumbersAsDigits(words(text, 0)).map((word) => word.word).join(' ');

describe('caption layout', () => {
  it('updates partial words in place and commits them with the final', () => {
    const layout = new CaptionLayout();
    const first = layout.push('partial', result('hello', 0));
    const second = layout.push('partial', result('hello world', 0));
    const final = layout.push('final', result('hello world how are you', 0));
    expect(first).toMatchObject([{ id: 0, lines: ['Hello'], final: false }]);
    expect(second).toMatchObject([{ id: 0, lines: ['Hello world'], final: false }]);
    expect(final).toMatchObject([{ id: 0, lines: ['Hello world how are you'], final: false }]);
    // Still open: the next words could join it. The end of the stream closes it.
    expect(layout.finish()).toMatchObject([{ id: 0, lines: ['Hello world how are you'], final: true, startMs: 0 }]);
  });

  it('marks partial words as such, and a final that confirms them word for word still settles the cue in place', () => {
    const layout = new CaptionLayout();
    expect(layout.push('partial', result('open the window', 0))).toMatchObject([{ id: 0, lines: ['Open the window'], partial: true, final: false }]);
    // Same words, same times: the only news is that they are final now, and a viewer must hear it.
    expect(layout.push('final', result('open the window', 0))).toMatchObject([{ id: 0, lines: ['Open the window'], partial: false, final: false }]);
    // The next utterance's partial joins the cue: partial again, the same id.
    expect(layout.push('partial', result('please', 1200))).toMatchObject([{ id: 0, lines: ['Open the window Please'], partial: true }]);
    expect(layout.push('final', result('please', 1200))).toMatchObject([{ id: 0, partial: false }]);
  });

  it('reports only what changed, and nothing for a repeated partial', () => {
    const layout = new CaptionLayout();
    layout.push('partial', result('good morning', 0));
    expect(layout.push('partial', result('good morning', 0))).toEqual([]);
  });

  it('keeps every cue within 2 lines of 42 characters and loses no word', () => {
    const text = 'the committee will now consider the proposal to extend the opening hours of the public library on weekends and holidays starting from next month';
    const layout = new CaptionLayout();
    const changes = [layout.push('final', result(text, 0, 250)), layout.finish()];
    const cues = [...screen(changes).values()];
    expect(cues.length).toBeGreaterThan(1);
    for (const cue of cues) {
      expect(cue.lines.length).toBeLessThanOrEqual(2);
      for (const line of cue.lines) expect(line.length).toBeLessThanOrEqual(42);
      expect(cue.final).toBe(true);
    }
    expect(cues.flatMap((cue) => cue.lines).join(' ').toLowerCase()).toBe(text);
  });

  it('honours the minimum and maximum display times', () => {
    const layout = new CaptionLayout({ minDisplayMs: 2000, maxDisplayMs: 6000, pauseMs: 1000 });
    // A lone short word, then another after a pause: the first keeps its 2 s, the second waits for it.
    const changes = [layout.push('final', result('yes', 0)), layout.push('final', result('no', 1800)), layout.finish()];
    const [yes, no] = [...screen(changes).values()];
    expect(yes!.lines).toEqual(['Yes']);
    expect(yes!.endMs - yes!.startMs).toBe(2000);
    expect(no!.startMs).toBe(2000);
    // Slow speech that fits the lines but lasts long is cut into cues of at most 6 s.
    const slow = new CaptionLayout({ maxDisplayMs: 6000 });
    const slowCues = [...screen([slow.push('final', result('so we we were were thinking that maybe we could go', 0, 1000)), slow.finish()]).values()];
    expect(slowCues.length).toBeGreaterThan(1);
    for (const cue of slowCues) expect(cue.endMs - cue.startMs).toBeLessThanOrEqual(6000);
    // Cues never overlap: each ends by the time the next begins.
    for (let index = 1; index < slowCues.length; index++) expect(slowCues[index]!.startMs).toBeGreaterThanOrEqual(slowCues[index - 1]!.endMs);
  });

  it('starts a new cue after a pause, and closes the cue before it', () => {
    const layout = new CaptionLayout({ pauseMs: 1500 });
    layout.push('final', result('first sentence here', 0));
    const changes = layout.push('final', result('second one', 4000));
    expect(changes).toMatchObject([
      { id: 0, lines: ['First sentence here'], final: true },
      { id: 1, lines: ['Second one'], final: false },
    ]);
    // The first cue lingers after its last word but is off screen when the second starts.
    expect(changes[0]!.endMs).toBe(600 + 250 + 800);
  });

  it('withdraws a cue that a partial had spilled into when the final turns out shorter', () => {
    const layout = new CaptionLayout();
    const long = 'we are going to talk about the results of the survey that we ran among our listeners last spring and summer';
    const spilled = layout.push('partial', result(long, 0, 200));
    expect(spilled.map((cue) => cue.id)).toEqual([0, 1]);
    const final = layout.push('final', result('we are going to talk about the results', 0, 200));
    expect(final).toMatchObject([{ id: 0, lines: ['We are going to talk about the results'] }, { id: 1, lines: [] }]);
  });

  it('writes numbers as digits where that is unambiguous', () => {
    expect(digits('it is twenty three degrees')).toBe('it is 23 degrees');
    expect(digits('we leave at seven thirty')).toBe('we leave at 7:30');
    expect(digits('the shop opens at nine o\'clock')).toBe('the shop opens at 9:00');
    expect(digits('call me at six oh five')).toBe('call me at 6:05');
    expect(digits('two hundred and five people')).toBe('205 people');
    expect(digits('four thousand six hundred')).toBe('4600');
    expect(digits('it costs fifteen dollars')).toBe('it costs 15 dollars');
    // A lone small number stays a word, and digits said one by one stay apart.
    expect(digits('one of them has two cats')).toBe('one of them has two cats');
    expect(digits('one two three')).toBe('one two three');
    expect(digits('rock and roll and twenty')).toBe('rock and roll and 20');
    // The merged word spans the words it replaces, with the lowest confidence.
    const merged = writeNumbersAsDigits([
      { word: 'twenty', startMs: 100, endMs: 400, conf: 0.9 },
      { word: 'three', startMs: 400, endMs: 700, conf: 0.6 },
    ]);
    expect(merged).toEqual([{ word: '23', startMs: 100, endMs: 700, conf: 0.6 }]);
  });

  it('masks profanity only when asked, keeping the first letter', () => {
    expect(maskProfanity('shit')).toBe('s***');
    expect(maskProfanity('Shipping')).toBe('Shipping');
    const plain = new CaptionLayout().push('final', result('oh shit the bus', 0));
    const masked = new CaptionLayout({ maskProfanity: true }).push('final', result('oh shit the bus', 0));
    expect(plain[0]!.lines).toEqual(['Oh shit the bus']);
    expect(masked[0]!.lines).toEqual(['Oh s*** the bus']);
  });

  it('capitalises each utterance and the pronoun I, and can leave numbers alone', () => {
    const layout = new CaptionLayout({ digits: false });
    expect(layout.push('final', result("i think i'm twenty three", 0))[0]!.lines).toEqual(["I think I'm twenty three"]);
  });

  it('is deterministic: the same results give the same cues', () => {
    const run = (): CaptionCue[][] => {
      const layout = new CaptionLayout();
      return [
        layout.push('partial', result('this is', 0)),
        layout.push('partial', result('this is a test of', 0)),
        layout.push('final', result('this is a test of the captions', 0)),
        layout.push('partial', result('and here comes more', 3000)),
        layout.push('final', result('and here comes more text', 3000)),
        layout.finish(),
      ];
    };
    expect(run()).toEqual(run());
  });
});
