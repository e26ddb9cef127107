import { describe, expect, it } from 'vitest';
import { parseChainSpec, withDisclosure } from '../transforms/chain-spec.js';
import { I420Frame } from '../transforms/frame.js';
import { CaptionBoard } from '../transforms/subtitles/caption-board.js';
import { Subtitles, subtitlesParams } from '../transforms/subtitles/subtitles-transform.js';
import { createTransform } from '../transforms/transform-factory.js';

function greyFrame(width = 1280, height = 720): I420Frame {
  const frame = new I420Frame(width, height);
  frame.y.fill(128);
  frame.u.fill(128);
  frame.v.fill(128);
  frame.captureMs = 1000;
  return frame;
}

/** Rows and columns of luma pixels that differ from 128, and how many are bright (text) and dark (box). */
function changed(frame: I420Frame): { top: number; bottom: number; left: number; right: number; bright: number; dark: number } {
  const box = { top: frame.height, bottom: -1, left: frame.width, right: -1, bright: 0, dark: 0 };
  for (let row = 0; row < frame.height; row++) {
    for (let column = 0; column < frame.width; column++) {
      const value = frame.y[row * frame.width + column]!;
      if (value === 128) continue;
      if (value > 200) box.bright++;
      if (value < 60) box.dark++;
      box.top = Math.min(box.top, row);
      box.bottom = Math.max(box.bottom, row);
      box.left = Math.min(box.left, column);
      box.right = Math.max(box.right, column);
    }
  }
  return box;
}

const clock = { frameIndex: 0, frameIntervalMs: 1000 / 30 };

describe('subtitles transform', () => {
  it('draws nothing without a caption, and the current cue centred at the bottom on a dark box', () => {
    const board = new CaptionBoard();
    const subtitles = new Subtitles(board);
    subtitles.configure(subtitlesParams.parse({}));
    const empty = greyFrame();
    subtitles.apply(empty, clock);
    expect(changed(empty).bottom).toBe(-1);

    board.show(['The meeting starts at 7:30', 'tomorrow morning'], Number.POSITIVE_INFINITY);
    const frame = greyFrame();
    subtitles.apply(frame, clock);
    const box = changed(frame);
    expect(box.top).toBeGreaterThan(720 * 0.7);
    expect(box.bottom).toBeLessThan(720 * 0.97);
    expect(Math.abs((box.left + box.right) / 2 - 640)).toBeLessThan(8);
    expect(box.bright).toBeGreaterThan(500);
    expect(box.dark).toBeGreaterThan(5000);
    // Two lines: taller than two font heights.
    expect(box.bottom - box.top).toBeGreaterThan(2 * 0.055 * 720);
  });

  it('redraws only when the cue text changes, not per frame', () => {
    const board = new CaptionBoard();
    const subtitles = new Subtitles(board);
    subtitles.configure(subtitlesParams.parse({}));
    board.show(['hello there'], Number.POSITIVE_INFINITY);
    const frame = greyFrame();
    for (let index = 0; index < 30; index++) subtitles.apply(frame, { frameIndex: index, frameIntervalMs: 33 });
    expect(subtitles.draws).toBe(1);
    board.show(['hello there'], Number.POSITIVE_INFINITY);
    subtitles.apply(frame, clock);
    expect(subtitles.draws).toBe(1);
    board.show(['hello there general'], Number.POSITIVE_INFINITY);
    for (let index = 0; index < 10; index++) subtitles.apply(frame, clock);
    expect(subtitles.draws).toBe(2);
  });

  it('goes at the top when asked, without a box, and stops showing after the cue expires', () => {
    const board = new CaptionBoard();
    const subtitles = new Subtitles(board);
    subtitles.configure(subtitlesParams.parse({ position: 'top', background: 'outline', fontSize: 0.08 }));
    board.show(['on top'], 5000);
    const frame = greyFrame();
    subtitles.apply(frame, clock);
    const box = changed(frame);
    expect(box.top).toBeGreaterThan(0);
    expect(box.bottom).toBeLessThan(720 * 0.25);
    expect(box.dark).toBeLessThan(box.bright * 2);
    const late = greyFrame();
    late.captureMs = 6000;
    subtitles.apply(late, clock);
    expect(changed(late).bottom).toBe(-1);
  });

  it('is a chain transform with simple parameters (and not a stylization)', () => {
    const parsed = parseChainSpec({ transforms: [{ name: 'subtitles', params: { position: 'top', fontSize: 0.06 } }] });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const transform = createTransform(parsed.spec.transforms[0]!, { lutDir: '.', imageDir: '.' });
    expect(transform.name).toBe('subtitles');
    expect(withDisclosure(parsed.spec).labelAdded).toBe(false);
    const bad = parseChainSpec({ transforms: [{ name: 'subtitles', params: { position: 'middle' } }] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toContain('transforms.0.params.position');
  });
});
