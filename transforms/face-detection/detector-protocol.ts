// The layout of the memory a FaceDetector shares with its detector thread. Requests and results pass
// through it with Atomics, so the stream's worker neither allocates nor waits for a message per frame.

/** Int32 slots of the control block. */
export const Slot = {
  /** Bumped by the stream's worker after it wrote an image; the detector thread waits on it. */
  requestSeq: 0,
  requestWidth: 1,
  requestHeight: 2,
  requestFrame: 3,
  /** Set to the request's sequence number once its result is written; waited on by prepare(). */
  resultSeq: 4,
  resultFrame: 5,
  /** Faces in the result, or -1 when the detection failed. */
  resultCount: 6,
  /** How long the detection took, in microseconds. */
  resultMicros: 7,
  /** Tile grid of the request (columns × rows, overlapping); 1 × 1 is the whole image alone. */
  requestColumns: 8,
  requestRows: 9,
  /** Detector passes the result took (the whole image, plus one per tile). */
  resultPasses: 10,
  /** The tiles of this request: `requestTileCount` of them from `requestTileFirst` on (wrapping), to spread a grid over rounds. */
  requestTileFirst: 11,
  requestTileCount: 12,
  /** What the request carries: RGB_IMAGE (ready in `image`) or I420_FRAME (the frame in `frame`, scaled by the thread). */
  requestFormat: 13,
} as const;
export const RGB_IMAGE = 0;
export const I420_FRAME = 1;
export const CONTROL_SLOTS = 14;

/** The most faces one result carries (a group shot has many small ones). */
export const MAX_FACES = 32;
/** Floats per face: left, top, width, height (0..1 of the image), score. */
export const FACE_FLOATS = 5;

/** Without tiles the detector sees the frame scaled so that its short side is this (BlazeFace's input is 256²). */
export const DETECTION_SHORT_SIDE = 256;
/** Longest side of the image sent to the detector (very wide frames are squeezed beyond this). */
export const DETECTION_LONG_SIDE_MAX = 768;
/** With tiles, twice that: each tile then reaches BlazeFace at about its native scale. */
export const TILED_SHORT_SIDE = 2 * DETECTION_SHORT_SIDE;
export const TILED_LONG_SIDE_MAX = 2 * DETECTION_LONG_SIDE_MAX;
/** Overlap of neighbouring tiles, as a share of a tile: a face on a seam is whole in one of them. */
export const TILE_OVERLAP = 0.25;
export const MAX_TILES = 12;
export const IMAGE_CAPACITY = TILED_SHORT_SIDE * TILED_LONG_SIDE_MAX * 3;
/** Frames up to 1080p go over whole (a copy), and the detector thread scales them; larger ones are scaled by the sender. */
export const FRAME_CAPACITY = (1920 * 1088 * 3) / 2;

const CONTROL_BYTES = CONTROL_SLOTS * 4;
const FACES_BYTES = MAX_FACES * FACE_FLOATS * 4;
export const SHARED_BYTES = CONTROL_BYTES + FACES_BYTES + IMAGE_CAPACITY + FRAME_CAPACITY;

/** Typed views over the shared block, the same on both sides. */
export interface SharedViews {
  control: Int32Array;
  faces: Float32Array;
  /** Packed RGB, width × height × 3 bytes of the current request. */
  image: Uint8Array;
  /** Or the I420 frame of the current request: Y, then U, then V, packed. */
  frame: Uint8Array;
}

export function sharedViews(buffer: SharedArrayBuffer): SharedViews {
  return {
    control: new Int32Array(buffer, 0, CONTROL_SLOTS),
    faces: new Float32Array(buffer, CONTROL_BYTES, MAX_FACES * FACE_FLOATS),
    image: new Uint8Array(buffer, CONTROL_BYTES + FACES_BYTES, IMAGE_CAPACITY),
    frame: new Uint8Array(buffer, CONTROL_BYTES + FACES_BYTES + IMAGE_CAPACITY, FRAME_CAPACITY),
  };
}

/** Worker data the detector thread starts with. */
export interface DetectorWorkerData {
  shared: SharedArrayBuffer;
  /** Faces scoring below this are not reported (the transform filters further by its own threshold). */
  minConfidence: number;
  /** Run BlazeFace on tfjs's WebGPU backend (a hardware adapter only; wasm where none opens). */
  gpu: boolean;
}

/** Detector thread → stream's worker; rare events only (per-frame traffic uses the shared block). */
export type DetectorMessage =
  | { type: 'ready'; loadMs: number; warmupMs: number; backend: string }
  | { type: 'load-failed'; message: string }
  | { type: 'detect-failed'; message: string };

/** Atomics.waitAsync is in Node 20 but not in TypeScript's ES2023 lib. */
export type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const atomics = Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult };
export const waitAsync = atomics.waitAsync.bind(Atomics);

/** The tile grid for a frame of this size: two tiles across its short side, about 1.25:1 tiles along the long one. */
export function autoTileGrid(width: number, height: number): { columns: number; rows: number } {
  const long = Math.max(width, height) / Math.min(width, height);
  // Two rows of tiles, each 1 / (2 - overlap) of the short side; tiles 1.25 times as long as that.
  const tileLong = 1.25 / (2 - TILE_OVERLAP);
  const along = Math.max(1, Math.min(Math.floor(MAX_TILES / 2), Math.round((long / tileLong - TILE_OVERLAP) / (1 - TILE_OVERLAP))));
  return width >= height ? { columns: along, rows: 2 } : { columns: 2, rows: along };
}

/** Tile `index` of a columns × rows grid over a width × height image (overlapping by TILE_OVERLAP), in its pixels. */
export function tileRect(width: number, height: number, columns: number, rows: number, index: number): { left: number; top: number; width: number; height: number } {
  const tileWidth = Math.min(width, Math.round(width / (columns - (columns - 1) * TILE_OVERLAP)));
  const tileHeight = Math.min(height, Math.round(height / (rows - (rows - 1) * TILE_OVERLAP)));
  const column = index % columns;
  const row = Math.floor(index / columns);
  return {
    left: columns > 1 ? Math.round((column * (width - tileWidth)) / (columns - 1)) : 0,
    top: rows > 1 ? Math.round((row * (height - tileHeight)) / (rows - 1)) : 0,
    width: tileWidth,
    height: tileHeight,
  };
}
