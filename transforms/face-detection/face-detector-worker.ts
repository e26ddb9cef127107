// Entry of one face-blur transform's detector thread: BlazeFace through @vladmandic/human on the
// tfjs wasm backend, fed images through shared memory by the stream's worker (detector-protocol.ts).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type * as HumanLibrary from '@vladmandic/human';
import { DETECTION_SHORT_SIDE, FACE_FLOATS, IMAGE_CAPACITY, MAX_FACES, Slot, sharedViews, tileRect, waitAsync, type DetectorMessage, type DetectorWorkerData } from './detector-protocol.js';

/** Two boxes are one face when they overlap this much (IoU), or the smaller lies this much inside the larger. */
const SAME_FACE_IOU = 0.3;
const SAME_FACE_INSIDE = 0.6;

/** A face found by one pass, in 0..1 of the whole image. */
interface Found {
  left: number;
  top: number;
  width: number;
  height: number;
  score: number;
}

const require = createRequire(import.meta.url);
const humanDist = path.dirname(require.resolve('@vladmandic/human'));
const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
const modelsDir = path.join(humanDist, '..', 'models');

// Node's fetch cannot read file:// URLs and human loads its models with fetch: read them from disk, and nothing from the network.
globalThis.fetch = async (input: string | URL | Request): Promise<Response> => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!url.startsWith('file:')) throw new Error(`the face detector loads models from node_modules only, not ${url}`);
  return new Response(await readFile(new URL(url)));
};

function post(message: DetectorMessage): void {
  parentPort?.postMessage(message);
}

async function main(): Promise<void> {
  const { shared, minConfidence } = workerData as DetectorWorkerData;
  const { control, faces, image } = sharedViews(shared);
  // The package's exports map names its wasm build without "./", so Node cannot import it by name.
  const { Human } = require(path.join(humanDist, 'human.node-wasm.js')) as typeof HumanLibrary;
  const off = { enabled: false };
  const human = new Human({
    backend: 'wasm',
    wasmPath: `${pathToFileURL(wasmDist).href}/`,
    modelBasePath: `${pathToFileURL(modelsDir).href}/`,
    debug: false,
    async: false,
    warmup: 'none',
    cacheModels: false,
    // Every request is a new frame: no result may come from human's cache of a previous one.
    cacheSensitivity: 0,
    filter: off,
    gesture: off,
    body: off,
    hand: off,
    object: off,
    segmentation: off,
    face: {
      enabled: true,
      // square: false: human's padding to a square misplaces boxes vertically on 16:9 input.
      detector: { enabled: true, rotation: false, square: false, maxDetected: MAX_FACES, minConfidence, skipFrames: 0, skipTime: 0, return: false },
      mesh: off,
      iris: off,
      description: off,
      emotion: off,
      antispoof: off,
      liveness: off,
      attention: off,
      gear: off,
    },
  });

  const loadStart = performance.now();
  try {
    await human.load();
  } catch (error) {
    post({ type: 'load-failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  // human logs a failed model load instead of throwing.
  if (human.models.loaded().length === 0) {
    post({ type: 'load-failed', message: `BlazeFace could not be loaded from ${modelsDir}` });
    return;
  }
  const loadMs = performance.now() - loadStart;
  const pixels = new Int32Array(IMAGE_CAPACITY);

  /** One BlazeFace pass over `input`; boxes mapped from the input's 0..1 to the image's through the tile's place. */
  const pass = async (input: HumanLibrary.Tensor, found: Found[], left: number, top: number, width: number, height: number): Promise<void> => {
    const result = await human.detect(input);
    if (result.error) throw new Error(result.error);
    for (const face of result.face) {
      const [boxLeft, boxTop, boxWidth, boxHeight] = face.boxRaw;
      found.push({ left: left + boxLeft * width, top: top + boxTop * height, width: boxWidth * width, height: boxHeight * height, score: face.boxScore ?? face.score });
    }
  };

  /** The whole image, then each tile of a columns × rows grid; returns the faces written (duplicates merged) and the passes run. */
  const detect = async (width: number, height: number, columns: number, rows: number): Promise<{ count: number; passes: number }> => {
    const length = width * height * 3;
    for (let index = 0; index < length; index++) pixels[index] = image[index]!;
    const tf = human.tf;
    const tensors: HumanLibrary.Tensor[] = [];
    const keep = <T extends HumanLibrary.Tensor>(tensor: T): T => {
      tensors.push(tensor);
      return tensor;
    };
    try {
      const tensor = keep(tf.tensor3d(pixels.subarray(0, length), [height, width, 3], 'int32'));
      const found: Found[] = [];
      const tiles = columns * rows;
      // The whole-image pass sees the image at DETECTION_SHORT_SIDE, as without tiles (box-averaged: BlazeFace's own resize is bilinear and would alias).
      const factor = tiles > 1 ? Math.floor(Math.min(width, height) / DETECTION_SHORT_SIDE) : 1;
      const whole = factor >= 2 ? keep(tf.squeeze(keep(tf.avgPool(keep(tf.cast(keep(tf.expandDims(tensor, 0)), 'float32')) as HumanLibrary.Tensor4D, factor, factor, 'valid')), [0])) : tensor;
      await pass(whole, found, 0, 0, 1, 1);
      for (let tile = 0; tile < tiles && tiles > 1; tile++) {
        const rect = tileRect(width, height, columns, rows, tile);
        const crop = keep(tf.slice(tensor, [rect.top, rect.left, 0], [rect.height, rect.width, 3]));
        await pass(crop, found, rect.left / width, rect.top / height, rect.width / width, rect.height / height);
      }
      const count = writeMerged(found);
      return { count, passes: tiles > 1 ? tiles + 1 : 1 };
    } finally {
      for (const tensor of tensors) tf.dispose(tensor);
    }
  };

  /** Best score first; a box that is the same face as one kept is dropped (IoU, or lying mostly inside it). */
  const writeMerged = (found: Found[]): number => {
    found.sort((a, b) => b.score - a.score);
    let count = 0;
    for (const face of found) {
      if (count === MAX_FACES) break;
      let duplicate = false;
      for (let kept = 0; kept < count && !duplicate; kept++) {
        const offset = kept * FACE_FLOATS;
        const [keptLeft, keptTop, keptRight, keptBottom] = [faces[offset]!, faces[offset + 1]!, faces[offset]! + faces[offset + 2]!, faces[offset + 1]! + faces[offset + 3]!];
        const overlapWidth = Math.min(face.left + face.width, keptRight) - Math.max(face.left, keptLeft);
        const overlapHeight = Math.min(face.top + face.height, keptBottom) - Math.max(face.top, keptTop);
        if (overlapWidth <= 0 || overlapHeight <= 0) continue;
        const overlap = overlapWidth * overlapHeight;
        const area = face.width * face.height;
        const keptArea = faces[offset + 2]! * faces[offset + 3]!;
        duplicate = overlap / (area + keptArea - overlap) > SAME_FACE_IOU || overlap / Math.min(area, keptArea) > SAME_FACE_INSIDE;
        if (!duplicate) continue;
        // The kept box grows to hold both: a face cut by a tile's edge is then still hidden whole.
        faces[offset] = Math.min(keptLeft, face.left);
        faces[offset + 1] = Math.min(keptTop, face.top);
        faces[offset + 2] = Math.max(keptRight, face.left + face.width) - faces[offset]!;
        faces[offset + 3] = Math.max(keptBottom, face.top + face.height) - faces[offset + 1]!;
      }
      if (duplicate) continue;
      const offset = count * FACE_FLOATS;
      faces[offset] = face.left;
      faces[offset + 1] = face.top;
      faces[offset + 2] = face.width;
      faces[offset + 3] = face.height;
      faces[offset + 4] = face.score;
      count++;
    }
    return count;
  };

  // The first inference compiles the graph's kernels; do it before saying ready.
  const warmupStart = performance.now();
  image.fill(0, 0, 256 * 144 * 3);
  await detect(256, 144, 1, 1);
  // Read before saying ready: the first request may come the moment the message lands.
  let seen = Atomics.load(control, Slot.requestSeq);
  // A pending Atomics.waitAsync does not keep a thread alive; a listened-to port does.
  parentPort?.on('message', () => {});
  post({ type: 'ready', loadMs, warmupMs: performance.now() - warmupStart, backend: human.tf.getBackend() });
  for (;;) {
    const waiting = waitAsync(control, Slot.requestSeq, seen);
    if (waiting.async) await waiting.value;
    const sequence = Atomics.load(control, Slot.requestSeq);
    if (sequence === seen) continue;
    seen = sequence;
    const start = performance.now();
    let count = -1;
    let passes = 0;
    try {
      ({ count, passes } = await detect(control[Slot.requestWidth]!, control[Slot.requestHeight]!, control[Slot.requestColumns]!, control[Slot.requestRows]!));
    } catch (error) {
      post({ type: 'detect-failed', message: error instanceof Error ? error.message : String(error) });
    }
    control[Slot.resultFrame] = control[Slot.requestFrame]!;
    control[Slot.resultCount] = count;
    control[Slot.resultPasses] = passes;
    control[Slot.resultMicros] = Math.round((performance.now() - start) * 1000);
    Atomics.store(control, Slot.resultSeq, sequence);
    Atomics.notify(control, Slot.resultSeq);
  }
}

await main();
