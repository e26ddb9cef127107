import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FaceBlur, faceBlurParams, type FaceBlurParams } from '../transforms/face-blur.js';
import { autoTileGrid } from '../transforms/face-detection/detector-protocol.js';
import { I420Frame } from '../transforms/frame.js';
import { testPatternFrame } from './helpers/ffmpeg-fixtures.js';
import { lumaDetail } from './helpers/test-frames.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The first five photos of the top row of human's samples.jpg, 792×160 (see fixtures/README.md). */
const FIXTURE = path.join(here, 'fixtures', 'faces-five-photos.jpg');
const FIXTURE_WIDTH = 792;
const FIXTURE_HEIGHT = 160;
const WIDTH = 1280;
const HEIGHT = 720;
/** Where the strip sits in the 720p frame: a row of small people across the middle of a wide shot. */
const STRIP_TOP = 270;
/** The real faces in the fixture (looked at, fixture pixels): left, top, right, bottom. 45–65 px tall, one about 34. */
const FACES = {
  'woman in blue (2nd photo)': { left: 196, top: 14, right: 256, bottom: 80 },
  'man in a suit (3rd photo)': { left: 424, top: 14, right: 480, bottom: 70 },
  'woman at a wall (5th photo)': { left: 722, top: 17, right: 754, bottom: 51 },
};

/** The fixture as I420, scaled by `scale`. */
function fixtureI420(scale: number): Buffer {
  const result = spawnSync('ffmpeg', ['-v', 'error', '-i', FIXTURE, '-vf', `scale=${FIXTURE_WIDTH * scale}:${FIXTURE_HEIGHT * scale}:flags=lanczos`, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], { maxBuffer: 1 << 25 });
  if (result.status !== 0) throw new Error(result.stderr.toString());
  return result.stdout;
}
const fixtures = new Map<number, Buffer>();

const clockAt = (frameIndex: number) => ({ frameIndex, frameIntervalMs: 33 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A black 1280×720 frame (times `scale`) with the fixture (scaled alike) across it at STRIP_TOP. */
function stripFrame(scale = 1): I420Frame {
  if (!fixtures.has(scale)) fixtures.set(scale, fixtureI420(scale));
  const fixture = fixtures.get(scale)!;
  const [width, stripWidth, stripHeight, stripTop] = [WIDTH * scale, FIXTURE_WIDTH * scale, FIXTURE_HEIGHT * scale, STRIP_TOP * scale];
  const frame = new I420Frame(width, HEIGHT * scale);
  frame.y.fill(16);
  frame.u.fill(128);
  frame.v.fill(128);
  for (let row = 0; row < stripHeight; row++) fixture.copy(frame.y, (stripTop + row) * width, row * stripWidth, (row + 1) * stripWidth);
  const chromaWidth = stripWidth / 2;
  const uOffset = stripWidth * stripHeight;
  const vOffset = uOffset + chromaWidth * (stripHeight / 2);
  for (let row = 0; row < stripHeight / 2; row++) {
    const at = (stripTop / 2 + row) * (width / 2);
    fixture.copy(frame.u, at, uOffset + row * chromaWidth, uOffset + (row + 1) * chromaWidth);
    fixture.copy(frame.v, at, vOffset + row * chromaWidth, vOffset + (row + 1) * chromaWidth);
  }
  return frame;
}

const blurs: FaceBlur[] = [];
afterEach(async () => {
  const exits = blurs.map((blur) => blur.faceDetector?.whenExited());
  for (const blur of blurs.splice(0)) blur.close();
  await Promise.all(exits);
});

/** One offline frame (prepare, then apply) through a fresh face-blur: the boxes it hid and the frame after. */
async function render(params: Partial<FaceBlurParams>, frame: I420Frame): Promise<{ boxes: [number, number, number, number][]; frame: I420Frame }> {
  const blur = new FaceBlur(() => {});
  blur.configure(faceBlurParams.parse(params));
  blurs.push(blur);
  await blur.prepare(frame, clockAt(0));
  blur.apply(frame, clockAt(0));
  expect(blur.status().protecting).toBe(true);
  return { boxes: blur.hiddenBoxes(), frame };
}

/** The faces whose centre lies in a hidden box, with the box that hides it (in a frame `scale` times 720p). */
function hiddenFaces(boxes: [number, number, number, number][], scale = 1): Map<string, [number, number, number, number]> {
  const hidden = new Map<string, [number, number, number, number]>();
  for (const [name, face] of Object.entries(FACES)) {
    const [x, y] = [(scale * (face.left + face.right)) / 2, scale * (STRIP_TOP + (face.top + face.bottom) / 2)];
    const box = boxes.find(([left, top, right, bottom]) => left <= x && x <= right && top <= y && y <= bottom);
    if (box) hidden.set(name, box);
  }
  return hidden;
}

describe('face-blur on small faces (tiled detection)', () => {
  it('picks two rows of tiles, three across on 16:9', () => {
    expect(autoTileGrid(1280, 720)).toEqual({ columns: 3, rows: 2 });
    expect(autoTileGrid(1920, 1080)).toEqual({ columns: 3, rows: 2 });
    expect(autoTileGrid(720, 1280)).toEqual({ columns: 2, rows: 3 });
    expect(autoTileGrid(640, 480)).toEqual({ columns: 2, rows: 2 });
    expect(faceBlurParams.parse({}).tiles).toBe('auto');
    expect(() => faceBlurParams.parse({ tiles: 'many' })).toThrow();
  });

  it('hides every real face of 30–65 px in a 720p wide shot by default, where the whole-frame pass alone misses some', async () => {
    const original = stripFrame();
    const tiled = await render({}, stripFrame());
    const found = hiddenFaces(tiled.boxes);
    expect([...found.keys()]).toEqual(Object.keys(FACES));
    for (const [name, face] of Object.entries(FACES)) {
      const [left, top, right, bottom] = found.get(name)!;
      const size = face.bottom - face.top;
      // The box holds the face (with some slack for the detector) and is face-sized, not a blob over the row.
      expect(left, name).toBeLessThanOrEqual(face.left + size / 4);
      expect(right, name).toBeGreaterThanOrEqual(face.right - size / 4);
      expect(top, name).toBeLessThanOrEqual(STRIP_TOP + face.top + size / 4);
      expect(bottom, name).toBeGreaterThanOrEqual(STRIP_TOP + face.bottom - size / 4);
      expect(right - left, name).toBeLessThan(4 * size);
      // The middle of the face lost its detail.
      const [x0, y0, x1, y1] = [face.left + size / 4, STRIP_TOP + face.top + size / 4, face.right - size / 4, STRIP_TOP + face.bottom - size / 4].map(Math.round) as [number, number, number, number];
      expect(lumaDetail(tiled.frame, x0, y0, x1, y1), name).toBeLessThan(lumaDetail(original, x0, y0, x1, y1) / 3);
    }
    // Far from all people (the black rows above and below the strip) nothing changed.
    for (let row = 0; row < 200; row++) for (let column = 0; column < WIDTH; column += 7) expect(tiled.frame.y[row * WIDTH + column]).toBe(16);

    // The single 256-px pass of before: the man in the suit (and the smaller face) go unblurred.
    const whole = await render({ tiles: 'off' }, stripFrame());
    const foundWhole = hiddenFaces(whole.boxes);
    expect(foundWhole.has('man in a suit (3rd photo)')).toBe(false);
    expect(foundWhole.size).toBeLessThan(Object.keys(FACES).length);
  });

  it('live, with the tiles spread over rounds (one per round), finds all of them and never lets one go between its tiles', async () => {
    const blur = new FaceBlur(() => {});
    // One tile per round: six rounds per cycle, more than the three misses a track is held for.
    blur.configure(faceBlurParams.parse({ detectEvery: 1, tilesPerRound: 1 }));
    blurs.push(blur);
    await blur.faceDetector!.whenReady();
    let index = 0;
    // The live path: apply() never waits.
    for (; index < 600 && hiddenFaces(blur.hiddenBoxes()).size < Object.keys(FACES).length; index++) {
      blur.apply(stripFrame(), clockAt(index));
      await sleep(20);
    }
    expect([...hiddenFaces(blur.hiddenBoxes()).keys()]).toEqual(Object.keys(FACES));
    // Two more full cycles: in rounds that skip a face's tile, its box is held, not counted as a miss.
    const detections = blur.status().detections;
    for (; blur.status().detections < detections + 12; index++) {
      blur.apply(stripFrame(), clockAt(index));
      expect([...hiddenFaces(blur.hiddenBoxes()).keys()], `frame ${index}`).toEqual(Object.keys(FACES));
      await sleep(20);
    }
    expect(blur.status().skippedDetections).toBeGreaterThan(0);
  });

  it('finds them too in a 1440p frame (larger than the detector thread takes whole: scaled on the stream side)', async () => {
    const { boxes } = await render({}, stripFrame(2));
    expect([...hiddenFaces(boxes, 2).keys()]).toEqual(Object.keys(FACES));
  });

  it('adds no false faces on a detailed 720p test pattern', async () => {
    const frame = new I420Frame(WIDTH, HEIGHT);
    testPatternFrame(WIDTH, HEIGHT).copy(frame.buffer);
    const { boxes } = await render({}, frame);
    expect(boxes).toEqual([]);
  });

  it('renders offline to the same bytes every time with tiles', async () => {
    const first = (await render({}, stripFrame())).frame.buffer;
    const second = (await render({}, stripFrame())).frame.buffer;
    expect(Buffer.compare(first, second)).toBe(0);
  });
});
