import { describe, expect, it } from 'vitest';
import { I420Frame } from '../transforms/frame.js';
import { Label, labelParams } from '../transforms/label.js';
import { Text, textParams } from '../transforms/text.js';

function greyFrame(width = 1280, height = 720): I420Frame {
  const frame = new I420Frame(width, height);
  frame.y.fill(128);
  frame.u.fill(128);
  frame.v.fill(128);
  return frame;
}

/** Bounding box of the luma pixels that differ from 128. */
function changedBox(frame: I420Frame): { left: number; top: number; right: number; bottom: number; count: number } {
  const box = { left: frame.width, top: frame.height, right: -1, bottom: -1, count: 0 };
  for (let row = 0; row < frame.height; row++) {
    for (let column = 0; column < frame.width; column++) {
      if (frame.y[row * frame.width + column] === 128) continue;
      box.count++;
      box.left = Math.min(box.left, column);
      box.right = Math.max(box.right, column);
      box.top = Math.min(box.top, row);
      box.bottom = Math.max(box.bottom, row);
    }
  }
  return box;
}

const clockAt = (frameIndex: number) => ({ frameIndex, frameIntervalMs: 33 });

describe('label', () => {
  it('puts a boxed "AI-processed" label in the top-right corner by default, and nothing elsewhere', () => {
    const frame = greyFrame();
    new Label().apply(frame, clockAt(0));
    const box = changedBox(frame);
    expect(box.count).toBeGreaterThan(2000);
    expect(box.left).toBeGreaterThan(frame.width / 2);
    expect(box.bottom).toBeLessThan(frame.height / 4);
    // The box is dark (black at ~69 % over grey) and the text bright.
    let dark = 0;
    let bright = 0;
    for (let row = box.top; row <= box.bottom; row++) {
      for (let column = box.left; column <= box.right; column++) {
        const value = frame.y[row * frame.width + column]!;
        if (value < 70) dark++;
        if (value > 180) bright++;
      }
    }
    expect(dark).toBeGreaterThan(bright);
    expect(bright).toBeGreaterThan(100);
  });

  it('moves to the corner the operator picks', () => {
    const frame = greyFrame();
    const label = new Label();
    label.configure(labelParams.parse({ corner: 'bottom-left' }));
    label.apply(frame, clockAt(0));
    const box = changedBox(frame);
    expect(box.right).toBeLessThan(frame.width / 2);
    expect(box.top).toBeGreaterThan((frame.height * 3) / 4);
  });
});

describe('text', () => {
  it('draws a lower third once, blends it on every frame, and redraws only on a change', () => {
    const text = new Text();
    text.configure(textParams.parse({ text: 'Live from the studio', style: 'lower-third' }));
    let box = changedBox(greyFrame());
    for (let index = 0; index < 10; index++) {
      const frame = greyFrame();
      text.apply(frame, clockAt(index));
      box = changedBox(frame);
    }
    expect(text.overlay.draws).toBe(1);
    expect(box.top).toBeGreaterThan(720 * 0.7);
    expect(box.left).toBeLessThan(100);
    text.apply(greyFrame(640, 360), clockAt(10));
    expect(text.overlay.draws).toBe(2);
    text.configure(textParams.parse({ text: 'Back after the break', style: 'lower-third' }));
    text.apply(greyFrame(640, 360), clockAt(11));
    expect(text.overlay.draws).toBe(3);
  });

  it('centres a title', () => {
    const frame = greyFrame();
    const text = new Text();
    text.configure(textParams.parse({ text: 'Opening night', style: 'title', fontSize: 0.1 }));
    text.apply(frame, clockAt(0));
    const box = changedBox(frame);
    expect(Math.abs((box.left + box.right) / 2 - 640)).toBeLessThan(4);
    expect(Math.abs((box.top + box.bottom) / 2 - 360)).toBeLessThan(4);
  });

  it('scrolls a ticker by frame number, the same way every time', () => {
    const text = new Text();
    text.configure(textParams.parse({ text: 'Breaking: livefx ships a ticker', style: 'ticker', tickerSpeed: 0.2 }));
    const at = (index: number): I420Frame => {
      const frame = greyFrame();
      text.apply(frame, clockAt(index));
      return frame;
    };
    const early = changedBox(at(20));
    const later = changedBox(at(60));
    expect(later.left).toBeLessThan(early.left);
    expect(at(45).y.equals(at(45).y)).toBe(true);
    expect(Buffer.from(at(45).buffer).equals(at(45).buffer)).toBe(true);
  });

  it('refuses a colour that is not #rrggbb, naming the field', () => {
    const result = textParams.safeParse({ text: 'x', color: 'red' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['color']);
  });
});
