import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, adminFetch as fetch } from './helpers/livefx-process.js';
import { WhipClient } from './helpers/whip-client.js';
import { parseChainSpec } from '../transforms/chain-spec.js';
import { FaceBlur, faceBlurParams, type FaceBlurParams } from '../transforms/face-blur.js';
import { FACE_FLOATS, MAX_FACES } from '../transforms/face-detection/detector-protocol.js';
import { FaceDetector } from '../transforms/face-detection/face-detector.js';
import { RgbDownscaler } from '../transforms/face-detection/rgb-downscaler.js';
import { I420Frame } from '../transforms/frame.js';
import { testPatternFrame } from './helpers/ffmpeg-fixtures.js';
import { lumaDetail } from './helpers/test-frames.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(here, 'fixtures', 'face-man-in-suit.jpg');
const FIXTURE_SIZE = 256;
/** Where the face is in the fixture (see fixtures/README.md): hair line to chin. */
const FACE = { left: 92, top: 30, right: 165, bottom: 122 };
const FACE_CENTRE = { x: 128, y: 76 };
const WIDTH = 640;
const HEIGHT = 360;

const fixtureI420 = (() => {
  const result = spawnSync('ffmpeg', ['-v', 'error', '-i', FIXTURE, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], { maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(result.stderr.toString());
  return result.stdout;
})();
const pattern = testPatternFrame(WIDTH, HEIGHT);

const clockAt = (frameIndex: number) => ({ frameIndex, frameIntervalMs: 33 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The fixture alone, as a 256×256 frame. */
function fixtureFrame(): I420Frame {
  const frame = new I420Frame(FIXTURE_SIZE, FIXTURE_SIZE);
  fixtureI420.copy(frame.buffer);
  return frame;
}

/** testsrc2 at 640×360 with the fixture pasted with its top-left corner at (x, y) (even). */
function sceneFrame(x: number, y: number): I420Frame {
  const frame = new I420Frame(WIDTH, HEIGHT);
  pattern.copy(frame.buffer);
  const chroma = FIXTURE_SIZE / 2;
  for (let row = 0; row < FIXTURE_SIZE; row++) {
    fixtureI420.copy(frame.y, (y + row) * WIDTH + x, row * FIXTURE_SIZE, (row + 1) * FIXTURE_SIZE);
  }
  const uOffset = FIXTURE_SIZE * FIXTURE_SIZE;
  const vOffset = uOffset + chroma * chroma;
  for (let row = 0; row < chroma; row++) {
    const at = (y / 2 + row) * (WIDTH / 2) + x / 2;
    fixtureI420.copy(frame.u, at, uOffset + row * chroma, uOffset + (row + 1) * chroma);
    fixtureI420.copy(frame.v, at, vOffset + row * chroma, vOffset + (row + 1) * chroma);
  }
  return frame;
}

function flatFrame(): I420Frame {
  const frame = new I420Frame(WIDTH, HEIGHT);
  frame.y.fill(128);
  frame.u.fill(128);
  frame.v.fill(128);
  return frame;
}

const detectors: FaceDetector[] = [];
const blurs: FaceBlur[] = [];

afterEach(async () => {
  const exits = [...detectors.map((detector) => detector.whenExited()), ...blurs.map((blur) => blur.faceDetector?.whenExited())];
  for (const detector of detectors.splice(0)) detector.close();
  for (const blur of blurs.splice(0)) blur.close();
  await Promise.all(exits);
});

function faceBlur(params: Partial<FaceBlurParams> = {}, messages: string[] = []): FaceBlur {
  const blur = new FaceBlur((level, message) => messages.push(`${level}: ${message}`));
  blur.configure(faceBlurParams.parse(params));
  blurs.push(blur);
  return blur;
}

/** One detection through the real detector thread, boxes in the frame's pixels. */
async function detect(detector: FaceDetector, frame: I420Frame): Promise<{ left: number; top: number; right: number; bottom: number; score: number }[]> {
  const downscaler = new RgbDownscaler();
  downscaler.resize(frame.width, frame.height);
  downscaler.write(frame, detector.image);
  expect(detector.submit(downscaler.width, downscaler.height, 0)).toBe(true);
  await detector.waitForResult();
  expect(detector.takeResult()).toBe(true);
  // The shared block holds at most MAX_FACES boxes: a larger count would read past it.
  expect(detector.resultCount).toBeLessThanOrEqual(MAX_FACES);
  return Array.from({ length: detector.resultCount }, (_, face) => {
    const [left, top, width, height, score] = detector.faces.subarray(face * FACE_FLOATS, (face + 1) * FACE_FLOATS);
    return { left: left! * frame.width, top: top! * frame.height, right: (left! + width!) * frame.width, bottom: (top! + height!) * frame.height, score: score! };
  });
}

const DEFAULT_CONFIDENCE = faceBlurParams.parse({}).minConfidence;

describe('face detector (BlazeFace on tfjs wasm, in its own thread)', () => {
  it('finds the face in the real photo, and nothing in a test pattern or a flat grey frame', async () => {
    const detector = new FaceDetector();
    detectors.push(detector);
    await detector.whenReady();
    expect(detector.state, detector.lastError).toBe('ready');
    expect(detector.modelLoadMs).toBeGreaterThan(0);

    const faces = (await detect(detector, fixtureFrame())).filter((face) => face.score >= DEFAULT_CONFIDENCE);
    expect(faces).toHaveLength(1);
    const [face] = faces;
    const overlapWidth = Math.min(face!.right, FACE.right) - Math.max(face!.left, FACE.left);
    const overlapHeight = Math.min(face!.bottom, FACE.bottom) - Math.max(face!.top, FACE.top);
    const faceArea = (FACE.right - FACE.left) * (FACE.bottom - FACE.top);
    // Covers most of the face, and is a face-sized box rather than the whole picture.
    expect((Math.max(0, overlapWidth) * Math.max(0, overlapHeight)) / faceArea).toBeGreaterThan(0.7);
    expect((face!.right - face!.left) * (face!.bottom - face!.top)).toBeLessThan(3 * faceArea);

    const onScene = (await detect(detector, sceneFrame(300, 60))).filter((found) => found.score >= DEFAULT_CONFIDENCE);
    expect(onScene).toHaveLength(1);
    expect(onScene[0]!.left).toBeLessThan(300 + FACE_CENTRE.x);
    expect(onScene[0]!.right).toBeGreaterThan(300 + FACE_CENTRE.x);

    const patternFrame = new I420Frame(WIDTH, HEIGHT);
    pattern.copy(patternFrame.buffer);
    expect((await detect(detector, patternFrame)).filter((found) => found.score >= DEFAULT_CONFIDENCE)).toEqual([]);
    expect((await detect(detector, flatFrame())).filter((found) => found.score >= DEFAULT_CONFIDENCE)).toEqual([]);
  });
});

describe('face-blur', () => {
  it('says it is not protecting until its first detection, then blurs the face and leaves the rest of the frame alone', async () => {
    const messages: string[] = [];
    const blur = faceBlur({ detectEvery: 2 }, messages);
    expect(blur.status().protecting).toBe(false);
    expect(blur.operatorNote()).toMatch(/faces not blurred yet/);
    expect(messages.join('\n')).toMatch(/faces are not blurred until/);

    const original = sceneFrame(200, 50);
    let frame = sceneFrame(200, 50);
    // The live path: apply() never waits, the result lands a frame or two later.
    for (let index = 0; index < 200 && blur.status().faces === 0; index++) {
      frame = sceneFrame(200, 50);
      blur.apply(frame, clockAt(index));
      await sleep(30);
    }
    const status = blur.status();
    expect(status.protecting).toBe(true);
    expect(blur.operatorNote()).toBeUndefined();
    expect(status.faces).toBe(1);
    expect(status.unprotectedFrames).toBeGreaterThan(0);
    expect(messages.join('\n')).toMatch(/face detector ready/);
    expect(messages.join('\n')).toMatch(/protecting/);

    const face = { left: 200 + FACE.left, top: 50 + FACE.top, right: 200 + FACE.right, bottom: 50 + FACE.bottom };
    expect(lumaDetail(frame, face.left, face.top, face.right, face.bottom)).toBeLessThan(lumaDetail(original, face.left, face.top, face.right, face.bottom) / 5);
    // Far from the face (more than 120 px from its region) nothing changed, in any plane.
    const far = (column: number, row: number) => column < face.left - 120 || column > face.right + 120 || row < face.top - 120 || row > face.bottom + 120;
    let changedFar = 0;
    let checked = 0;
    for (let row = 0; row < HEIGHT; row++)
      for (let column = 0; column < WIDTH; column++) {
        if (!far(column, row)) continue;
        checked++;
        if (frame.y[row * WIDTH + column] !== original.y[row * WIDTH + column]) changedFar++;
        const chroma = (row >> 1) * (WIDTH / 2) + (column >> 1);
        if (frame.u[chroma] !== original.u[chroma] || frame.v[chroma] !== original.v[chroma]) changedFar++;
      }
    expect(checked).toBeGreaterThan(50_000);
    expect(changedFar).toBe(0);
    // The hidden box holds the whole face; by default only the ellipse inside it is hidden, its corners are not.
    const [box] = blur.hiddenBoxes();
    const [left, top, right, bottom] = box!;
    expect(left).toBeLessThanOrEqual(face.left);
    expect(top).toBeLessThanOrEqual(face.top + 10);
    expect(right).toBeGreaterThanOrEqual(face.right);
    expect(bottom).toBeGreaterThanOrEqual(face.bottom);
    for (const [cornerX, cornerY] of [[left, top], [right - 8, top], [left, bottom - 8], [right - 8, bottom - 8]] as const) {
      for (let row = cornerY; row < cornerY + 8; row++) for (let column = cornerX; column < cornerX + 8; column++) expect(frame.y[row * WIDTH + column]).toBe(original.y[row * WIDTH + column]);
    }
  });

  it('pixelates instead when asked', async () => {
    const blur = faceBlur({ mode: 'pixelate', detectEvery: 1 });
    const original = sceneFrame(200, 50);
    const frame = sceneFrame(200, 50);
    await blur.prepare(frame, clockAt(0));
    blur.apply(frame, clockAt(0));
    const [box] = blur.hiddenBoxes();
    expect(box).toBeDefined();
    // A mosaic: across the middle of the box, 40 px are a few runs of equal values.
    const [left, top, right, bottom] = box!;
    const [middleX, middleY] = [(left + right) >> 1, (top + bottom) >> 1];
    const values = new Set<number>();
    for (let column = middleX - 20; column < middleX + 20; column++) values.add(frame.y[middleY * WIDTH + column]!);
    expect(values.size).toBeLessThanOrEqual(4);
    const face = { left: 200 + FACE.left, top: 50 + FACE.top, right: 200 + FACE.right, bottom: 50 + FACE.bottom };
    expect(lumaDetail(frame, face.left, face.top, face.right, face.bottom)).toBeLessThan(lumaDetail(original, face.left, face.top, face.right, face.bottom) / 3);
  });

  it('follows a moving face between detections (constant-velocity tracking)', async () => {
    const detectEvery = 5;
    const blur = faceBlur({ detectEvery });
    let offsetAtDetection: number | undefined;
    let worstOffsetDrift = 0;
    for (let index = 0; index < 31; index++) {
      // 8 px per frame to the right, 2 px down: 32 px between two detections.
      const [x, y] = [40 + 8 * index, 40 + 2 * index];
      const frame = sceneFrame(x, y);
      await blur.prepare(frame, clockAt(index));
      blur.apply(frame, clockAt(index));
      const boxes = blur.hiddenBoxes();
      expect(boxes, `frame ${index}`).toHaveLength(1);
      const [left, top, right, bottom] = boxes[0]!;
      const centre = { x: x + FACE_CENTRE.x, y: y + FACE_CENTRE.y };
      expect(centre.x, `frame ${index}`).toBeGreaterThan(left);
      expect(centre.x, `frame ${index}`).toBeLessThan(right);
      expect(centre.y, `frame ${index}`).toBeGreaterThan(top);
      expect(centre.y, `frame ${index}`).toBeLessThan(bottom);
      // How far the box centre is from the face centre; without prediction it would fall 32 px behind.
      const offset = (left + right) / 2 - centre.x;
      if (index % detectEvery === 0) offsetAtDetection = offset;
      else if (index > detectEvery && offsetAtDetection !== undefined) worstOffsetDrift = Math.max(worstOffsetDrift, Math.abs(offset - offsetAtDetection));
    }
    expect(worstOffsetDrift).toBeLessThan(10);
    expect(blur.status().detections).toBe(7);
  });

  it('keeps hiding the faces when a chain change replaces it: the new one takes the tracks over while its detector loads', async () => {
    const first = faceBlur({ detectEvery: 1 });
    for (let index = 0; index < 3; index++) {
      const frame = sceneFrame(200, 50);
      await first.prepare(frame, clockAt(index));
      first.apply(frame, clockAt(index));
    }
    expect(first.status().faces).toBe(1);
    // What the pipeline does: configure the new chain, then close the old one at the next frame boundary.
    const messages: string[] = [];
    const second = faceBlur({ detectEvery: 1, strength: 1 }, messages);
    first.close();
    const original = sceneFrame(200, 50);
    const frame = sceneFrame(200, 50);
    second.apply(frame, clockAt(3));
    expect(second.status()).toMatchObject({ protecting: false, detections: 0, faces: 1 });
    const face = { left: 200 + FACE.left, top: 50 + FACE.top, right: 200 + FACE.right, bottom: 50 + FACE.bottom };
    expect(lumaDetail(frame, face.left, face.top, face.right, face.bottom)).toBeLessThan(lumaDetail(original, face.left, face.top, face.right, face.bottom) / 5);
    expect(messages.join('\n')).toMatch(/took over 1 tracked face/);
    // A face-blur starting a new sequence (frame 0) takes nothing over.
    second.close();
    const fresh = faceBlur();
    fresh.apply(sceneFrame(200, 50), clockAt(0));
    expect(fresh.status().faces).toBe(0);
  });

  it('renders offline (prepare before apply) to the same bytes every time', async () => {
    const render = async (): Promise<string[]> => {
      const blur = faceBlur({ detectEvery: 3 });
      const digests: string[] = [];
      for (let index = 0; index < 10; index++) {
        const frame = sceneFrame(100 + 6 * index, 60);
        await blur.prepare(frame, clockAt(index));
        blur.apply(frame, clockAt(index));
        expect(blur.status().faces, `frame ${index}`).toBe(1);
        digests.push(createHash('md5').update(frame.buffer).digest('hex'));
      }
      return digests;
    };
    const first = await render();
    const second = await render();
    expect(second).toEqual(first);
    expect(first[0]).not.toBe(createHash('md5').update(sceneFrame(100, 60).buffer).digest('hex'));
  });

  it('reports a crashed detector, restarts it and protects again', async () => {
    const messages: string[] = [];
    const blur = faceBlur({ detectEvery: 1 }, messages);
    await blur.prepare(sceneFrame(200, 50), clockAt(0));
    expect(blur.status().protecting).toBe(true);
    const firstThread = blur.faceDetector!.threadId;
    blur.faceDetector!.crashForTesting();
    for (let wait = 0; wait < 100 && blur.status().detector === 'ready'; wait++) await sleep(10);
    expect(blur.status().detector).toBe('restarting');
    expect(blur.status().protecting).toBe(false);
    expect(blur.operatorNote()).toMatch(/restarting/);
    expect(messages.join('\n')).toMatch(/error: face-blur: face detector thread ended .*restarting/);
    const frame = sceneFrame(200, 50);
    await blur.prepare(frame, clockAt(1));
    blur.apply(frame, clockAt(1));
    expect(blur.status()).toMatchObject({ detector: 'ready', protecting: true, restarts: 1, faces: 1 });
    expect(blur.faceDetector!.threadId).not.toBe(firstThread);
  });

  it('close() ends the detector thread, so a process that used it exits by itself', async () => {
    const blur = faceBlur();
    await blur.faceDetector!.whenReady();
    expect(blur.faceDetector!.threadId).toBeGreaterThan(0);
    const exited = blur.faceDetector!.whenExited();
    blur.close();
    blur.close();
    await exited;
    expect(blur.status().detector).toBe('closed');

    const built = path.join(here, '..', 'dist', 'transforms');
    const script = `
      import { FaceBlur } from ${JSON.stringify(path.join(built, 'face-blur.js'))};
      import { I420Frame } from ${JSON.stringify(path.join(built, 'frame.js'))};
      const blur = new FaceBlur(() => {});
      blur.configure(blur.params.parse({}));
      const frame = new I420Frame(320, 180);
      await blur.prepare(frame, { frameIndex: 0, frameIntervalMs: 33 });
      blur.apply(frame, { frameIndex: 0, frameIntervalMs: 33 });
      blur.close();
      console.log(blur.status().detections);
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    expect(child.signal, 'the process had to be killed: the detector thread kept it alive').toBeNull();
    expect(child.status, child.stderr.toString()).toBe(0);
    expect(child.stdout.toString().trim()).toBe('1');
  });

  it('refuses bad parameters with a message naming the field', () => {
    const refused = (params: Record<string, unknown>) => {
      const parsed = parseChainSpec({ transforms: [{ name: 'face-blur', params }] });
      return parsed.ok ? '' : parsed.error;
    };
    expect(refused({ detectEvery: 0 })).toMatch(/^transforms\.0\.params\.detectEvery: /);
    expect(refused({ detectEvery: 2.5 })).toMatch(/^transforms\.0\.params\.detectEvery: /);
    expect(refused({ mode: 'smudge' })).toMatch(/^transforms\.0\.params\.mode: /);
    expect(refused({ strength: 3 })).toMatch(/^transforms\.0\.params\.strength: /);
    expect(refused({ margin: -0.1 })).toMatch(/^transforms\.0\.params\.margin: /);
    expect(refused({ minConfidence: 1 })).toMatch(/^transforms\.0\.params\.minConfidence: /);
    expect(refused({ blurRadius: 3 })).toMatch(/blurRadius/);
    const accepted = parseChainSpec({ transforms: [{ name: 'face-blur' }] });
    expect(refused({ shape: 'star' })).toMatch(/^transforms\.0\.params\.shape: /);
    expect(refused({ tiles: 'all' })).toMatch(/^transforms\.0\.params\.tiles: /);
    expect(refused({ minFaceSize: 0 })).toMatch(/^transforms\.0\.params\.minFaceSize: /);
    expect(refused({ tilesPerRound: 13 })).toMatch(/^transforms\.0\.params\.tilesPerRound: /);
    expect(accepted.ok && accepted.spec.transforms[0]!.params).toEqual({ mode: 'blur', shape: 'ellipse', strength: 0.7, detectEvery: 5, margin: 0.2, minConfidence: 0.4, tiles: 'auto', minFaceSize: 0.035, tilesPerRound: 2 });
  });
});

describe('face-blur in a live stream', () => {
  it('an operator turns it on over HTTP and the HLS output shows the face blurred, the rest of the picture not', async () => {
    const server = await startServer();
    let publisher: WhipClient | undefined;
    try {
      const stream = await createStream(server.url, 'privacy');
      const put = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ transforms: [{ name: 'face-blur', params: { detectEvery: 3 } }] }),
      });
      expect(put.status).toBe(200);
      // The photo still on a grey 640×360 picture, with a detailed strip (the test pattern) below it.
      const scene = `color=gray:s=${WIDTH}x${HEIGHT}:r=30[bg];testsrc2=s=${WIDTH}x40:r=30[strip];movie=${FIXTURE},loop=-1:1,setpts=N/30/TB[face];[bg][face]overlay=200:50[withFace];[withFace][strip]overlay=0:316`;
      publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: WIDTH, height: HEIGHT, source: scene });
      await publisher.start();
      await waitFor('the face-blur to protect', () => (/face-blur: protecting/.test(server.output()) ? true : undefined), 30_000);
      const segments = async (): Promise<string[]> => {
        const playlist = await fetch(`${server.url}/hls/${stream.id}/index.m3u8`);
        return playlist.ok ? (await playlist.text()).split('\n').filter((line) => line.endsWith('.ts')) : [];
      };
      // A segment that started after the detector was protecting: the second to appear after it was.
      const known = new Set(await segments());
      const fresh = await waitFor('two new HLS segments', async () => {
        const added = (await segments()).filter((name) => !known.has(name));
        return added.length >= 2 ? added : undefined;
      }, 20_000);
      const segment = Buffer.from(await (await fetch(`${server.url}/hls/${stream.id}/${fresh[1]}`)).arrayBuffer());
      const decoded = spawnSync('ffmpeg', ['-v', 'error', '-f', 'mpegts', '-i', 'pipe:0', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], { input: segment, maxBuffer: 1 << 26 });
      expect(decoded.status, decoded.stderr.toString()).toBe(0);
      const watched = new I420Frame(WIDTH, HEIGHT);
      decoded.stdout.copy(watched.buffer);
      const source = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', scene, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], { maxBuffer: 1 << 26 });
      expect(source.status, source.stderr.toString()).toBe(0);
      const sent = new I420Frame(WIDTH, HEIGHT);
      source.stdout.copy(sent.buffer);
      const face = { left: 200 + FACE.left, top: 50 + FACE.top, right: 200 + FACE.right, bottom: 50 + FACE.bottom };
      expect(lumaDetail(watched, face.left, face.top, face.right, face.bottom)).toBeLessThan(lumaDetail(sent, face.left, face.top, face.right, face.bottom) / 4);
      // The strip far below the face keeps its detail (only the encoder touched it).
      expect(lumaDetail(watched, 0, 320, WIDTH, 354)).toBeGreaterThan(0.6 * lumaDetail(sent, 0, 320, WIDTH, 354));
    } finally {
      await publisher?.stop();
      await server.stop('SIGTERM');
    }
  });
});
