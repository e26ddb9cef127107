import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageOverlay, imageParams } from '../transforms/image-overlay.js';
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
    expect(Buffer.from(at(45).y).equals(Buffer.from(at(45).y))).toBe(true);
    expect(Buffer.from(at(45).buffer).equals(at(45).buffer)).toBe(true);
  });

  it('refuses a colour that is not #rrggbb, naming the field', () => {
    const result = textParams.safeParse({ text: 'x', color: 'red' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['color']);
  });
});

describe('image', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'livefx-image-'));
  const logo = path.join(dir, 'logo.png');
  spawnSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red@0.5:s=64x48,format=rgba', '-frames:v', '1', logo]);

  it('blends a PNG with its alpha, scaled to a share of the frame width, in the chosen corner', () => {
    const frame = greyFrame();
    const image = new ImageOverlay();
    image.configure(imageParams.parse({ file: logo, position: 'bottom-right', scale: 0.2 }));
    image.apply(frame, clockAt(0));
    const box = changedBox(frame);
    expect(box.right - box.left + 1).toBeGreaterThanOrEqual(254);
    expect(box.right - box.left + 1).toBeLessThanOrEqual(258);
    expect((box.bottom - box.top + 1) / (box.right - box.left + 1)).toBeCloseTo(48 / 64, 1);
    expect(box.left).toBeGreaterThan(frame.width / 2);
    expect(box.top).toBeGreaterThan(frame.height / 2);
    // Half-transparent red over grey: V (red difference) rises about half way to red's.
    const chromaWidth = frame.width / 2;
    const v = frame.v[((box.top + box.bottom) >> 2) * chromaWidth + ((box.left + box.right) >> 2)]!;
    expect(v).toBeGreaterThan(170);
    expect(v).toBeLessThan(215);
  });

  it('draws once per frame size and fades with opacity', () => {
    const image = new ImageOverlay();
    image.configure(imageParams.parse({ file: logo, opacity: 0.2 }));
    for (let index = 0; index < 5; index++) image.apply(greyFrame(), clockAt(index));
    expect(image.raster.draws).toBe(1);
    const frame = greyFrame();
    image.apply(frame, clockAt(5));
    const box = changedBox(frame);
    const v = frame.v[((box.top + box.bottom) >> 2) * (frame.width / 2) + ((box.left + box.right) >> 2)]!;
    expect(v).toBeGreaterThan(130);
    expect(v).toBeLessThan(150);
  });

  it('refuses a file that is not an image with a clear error', () => {
    const fake = path.join(dir, 'fake.png');
    writeFileSync(fake, 'this is not a png');
    expect(() => new ImageOverlay().configure(imageParams.parse({ file: fake }))).toThrow(/is not a PNG or JPEG image/);
  });
});
