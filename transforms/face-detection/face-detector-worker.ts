// Entry of one face-blur transform's detector thread: BlazeFace through @vladmandic/human on the
// tfjs wasm backend, fed images through shared memory by the stream's worker (detector-protocol.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type * as HumanLibrary from '@vladmandic/human';
import type { Frame } from '../frame.js';
import {
  DETECTION_LONG_SIDE_MAX,
  DETECTION_SHORT_SIDE,
  FACE_FLOATS,
  I420_FRAME,
  IMAGE_CAPACITY,
  MAX_FACES,
  Slot,
  sharedViews,
  TILED_LONG_SIDE_MAX,
  TILED_SHORT_SIDE,
  tileRect,
  waitAsync,
  type DetectorMessage,
  type DetectorWorkerData,
} from './detector-protocol.js';
import { createBlazeFaceHuman, installTfjsWebgpu, MODELS_DIR, wasmExecution } from './blazeface-human.js';
import { RgbDownscaler } from './rgb-downscaler.js';

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

function post(message: DetectorMessage): void {
  parentPort?.postMessage(message);
}

async function main(): Promise<void> {
  const { shared, minConfidence, gpu } = workerData as DetectorWorkerData;
  const { control, faces, image, frame } = sharedViews(shared);
  // tfjs opens its own device: the chain's belongs to another thread. Never the software adapter (7× the CPU of wasm).
  const gpuRefused = gpu ? await installTfjsWebgpu({ allowSoftware: false }) : undefined;
  const human = createBlazeFaceHuman({ minConfidence, backend: gpu && !gpuRefused ? 'webgpu' : 'wasm' });

  const loadStart = performance.now();
  try {
    await human.load();
  } catch (error) {
    post({ type: 'load-failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  // human logs a failed model load instead of throwing.
  if (human.models.loaded().length === 0) {
    post({ type: 'load-failed', message: `BlazeFace could not be loaded from ${MODELS_DIR}` });
    return;
  }
  const loadMs = performance.now() - loadStart;
  const pixels = new Int32Array(IMAGE_CAPACITY);
  // For frames sent whole: the same scaling the sender would do, here instead of on the stream's thread.
  const downscaler = new RgbDownscaler();
  const scaled = new Uint8Array(IMAGE_CAPACITY);
  let scaledFor = '';

  /** Scales the I420 frame in `frame` into `scaled`; returns its size. */
  const scaleFrame = (width: number, height: number, tiled: boolean): { width: number; height: number } => {
    const key = `${width}x${height}:${tiled}`;
    if (key !== scaledFor) {
      downscaler.resize(width, height, tiled ? TILED_SHORT_SIDE : DETECTION_SHORT_SIDE, tiled ? TILED_LONG_SIDE_MAX : DETECTION_LONG_SIDE_MAX);
      scaledFor = key;
    }
    const lumaBytes = width * height;
    const chromaBytes = Math.ceil(width / 2) * Math.ceil(height / 2);
    const view: Frame = { width, height, y: frame.subarray(0, lumaBytes), u: frame.subarray(lumaBytes, lumaBytes + chromaBytes), v: frame.subarray(lumaBytes + chromaBytes, lumaBytes + 2 * chromaBytes), pts: 0, captureMs: 0 };
    downscaler.write(view, scaled);
    return { width: downscaler.width, height: downscaler.height };
  };

  /** One BlazeFace pass over `input`; boxes mapped from the input's 0..1 to the image's through the tile's place. */
  const pass = async (input: HumanLibrary.Tensor, found: Found[], left: number, top: number, width: number, height: number): Promise<void> => {
    const result = await human.detect(input);
    if (result.error) throw new Error(result.error);
    for (const face of result.face) {
      const [boxLeft, boxTop, boxWidth, boxHeight] = face.boxRaw;
      found.push({ left: left + boxLeft * width, top: top + boxTop * height, width: boxWidth * width, height: boxHeight * height, score: face.boxScore ?? face.score });
    }
  };

  /** The whole image, then `tileCount` tiles of a columns × rows grid from `tileFirst` on; returns the faces written (duplicates merged) and the passes run. */
  const detect = async (source: Uint8Array, width: number, height: number, columns: number, rows: number, tileFirst: number, tileCount: number): Promise<{ count: number; passes: number }> => {
    const length = width * height * 3;
    for (let index = 0; index < length; index++) pixels[index] = source[index]!;
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
      const searched = tiles > 1 ? Math.min(tiles, tileCount) : 0;
      for (let step = 0; step < searched; step++) {
        const rect = tileRect(width, height, columns, rows, (tileFirst + step) % tiles);
        const crop = keep(tf.slice(tensor, [rect.top, rect.left, 0], [rect.height, rect.width, 3]));
        await pass(crop, found, rect.left / width, rect.top / height, rect.width / width, rect.height / height);
      }
      const count = writeMerged(found);
      return { count, passes: 1 + searched };
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
  await detect(image, 256, 144, 1, 1, 0, 0);
  // Read before saying ready: the first request may come the moment the message lands.
  let seen = Atomics.load(control, Slot.requestSeq);
  // A pending Atomics.waitAsync does not keep a thread alive; a listened-to port does.
  parentPort?.on('message', () => {});
  const execution = await wasmExecution(human);
  const backend =
    human.tf.getBackend() === 'webgpu' ? 'webgpu (the GPU)'
    : `${human.tf.getBackend()} (${execution.simd ? 'SIMD' : 'no SIMD'}, ${execution.threads ? 'threads' : 'one thread'})${gpuRefused ? `; not on the GPU: ${gpuRefused}` : ''}`;
  post({ type: 'ready', loadMs, warmupMs: performance.now() - warmupStart, backend });
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
      const [columns, rows] = [control[Slot.requestColumns]!, control[Slot.requestRows]!];
      let [source, width, height] = [image, control[Slot.requestWidth]!, control[Slot.requestHeight]!];
      if (control[Slot.requestFormat] === I420_FRAME) {
        ({ width, height } = scaleFrame(width, height, columns * rows > 1));
        source = scaled;
      }
      ({ count, passes } = await detect(source, width, height, columns, rows, control[Slot.requestTileFirst]!, control[Slot.requestTileCount]!));
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
