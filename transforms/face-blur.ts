import { z } from 'zod';
import { autoTileGrid, DETECTION_LONG_SIDE_MAX, DETECTION_SHORT_SIDE, MAX_FACES, MAX_TILES, TILE_OVERLAP, TILED_LONG_SIDE_MAX, TILED_SHORT_SIDE, tileRect } from './face-detection/detector-protocol.js';
import { FaceDetector, type FaceDetectorState } from './face-detection/face-detector.js';
import { FaceTracker } from './face-detection/face-tracker.js';
import { RegionBlur } from './face-detection/region-blur.js';
import { RgbDownscaler } from './face-detection/rgb-downscaler.js';
import type { Frame, FrameClock } from './frame.js';
import type { Transform, TransformBackendName, TransformReport } from './transform.js';
import type { WasmKernels } from './wasm/wasm-kernels.js';
import { WasmRegionBlur } from './wasm/wasm-region-blur.js';

export const faceBlurParams = z
  .object({
    mode: z.enum(['blur', 'pixelate']).default('blur'),
    /** Hide the ellipse inside each face box, or the whole box. */
    shape: z.enum(['ellipse', 'box']).default('ellipse'),
    /** Blur radius or mosaic block, as a share of a fifth of the face size. */
    strength: z.number().min(0.1).max(1).default(0.7),
    /** Run the detector on every Nth frame; the boxes are tracked in between. */
    detectEvery: z.number().int().min(1).max(30).default(5),
    /** Extra room around each detected face, as a share of its size per side. */
    margin: z.number().min(0).max(1).default(0.2),
    /** Detections scoring below this are ignored. */
    minConfidence: z.number().min(0.05).max(0.95).default(0.4),
    /**
     * auto: on frames of 448 px and more (short side), besides the whole frame search 2 × 3 overlapping
     * tiles (on 16:9) at the detector's native scale, so faces of 30 px and up at 720p are found; off: whole frame only.
     */
    tiles: z.enum(['auto', 'off']).default('auto'),
    /** Detections lower than this share of the frame height are ignored (0.035: 25 px at 720p); smaller ones are mostly not faces. */
    minFaceSize: z.number().min(0.01).max(0.5).default(0.035),
    /** Tiles searched per detection round besides the whole frame; live, rounds cycle through the grid (offline renders search all). */
    tilesPerRound: z.number().int().min(1).max(MAX_TILES).default(2),
  })
  .strict();
export type FaceBlurParams = z.infer<typeof faceBlurParams>;

/** What the transform is doing, for stats and logs. */
export interface FaceBlurStatus {
  detector: FaceDetectorState;
  /** True once the detector is up and a detection has come back: faces in view get blurred. */
  protecting: boolean;
  /** Frames that went out while not protecting (detector loading, restarting or failed). */
  unprotectedFrames: number;
  detections: number;
  failedDetections: number;
  /** Detections that were due while the previous one still ran, and were skipped. */
  skippedDetections: number;
  restarts: number;
  /** Boxes hidden on the last frame. */
  faces: number;
  modelLoadMs: number;
  lastDetectionMs: number;
}

export type FaceBlurReport = TransformReport;

/** Detections that may miss a face before its box goes (so one missed detection never shows it). */
const HOLD_DETECTIONS = 3;
/** Frames with a short side below this are searched whole only: their tiles would be upscaled to BlazeFace's 256 px. */
const TILES_MIN_SHORT_SIDE = Math.ceil(DETECTION_SHORT_SIDE * (2 - TILE_OVERLAP));
/** Faces at least this tall (share of the frame height) are found by the whole-frame pass: a round without their tile still looked for them. */
const WHOLE_PASS_FACE = 0.15;
/** Without any detection for this long (the detector is down), boxes go. */
const STALE_FRAMES = 150;
const LEVELS = { info: 30, warn: 40, error: 50 } as const;

/**
 * What the face-blur closed last in this thread was tracking. A chain change builds new transforms
 * and closes the old ones at the next frame; the new face-blur takes these over so the faces stay
 * hidden while its own detector loads.
 */
let handoff: { tracker: FaceTracker; lastFrame: number; width: number; height: number } | undefined;

/** Pino-shaped JSON lines on stdout, like the server's log, for hosts that pass no reporter. */
const logLine: FaceBlurReport = (level, message) => {
  process.stdout.write(`${JSON.stringify({ level: LEVELS[level], time: Date.now(), service: 'livefx', transform: 'face-blur', msg: message })}\n`);
};

/**
 * Privacy opt-out: faces found by BlazeFace (in a detector thread of its own, every `detectEvery`
 * frames) are blurred or pixelated in place; in between, each box follows its face at constant
 * velocity. apply() never waits for the detector; prepare() does, for offline renders.
 */
export class FaceBlur implements Transform<FaceBlurParams> {
  readonly name = 'face-blur';
  readonly params = faceBlurParams;
  // Never skipped under load: a skipped frame would show the faces.
  readonly heavy = false;
  private settings: FaceBlurParams = faceBlurParams.parse({});
  private detector: FaceDetector | undefined;
  private readonly tracker = new FaceTracker(MAX_FACES);
  readonly backend: TransformBackendName;
  private readonly regions: RegionBlur;
  private readonly downscaler = new RgbDownscaler();
  private readonly boxes = new Float64Array(MAX_FACES * 4);
  /** The rectangles hidden on the last frame, in pixels: left, top, right, bottom. */
  private readonly drawn = new Int32Array(MAX_FACES * 4);
  private frameWidth = 0;
  private frameHeight = 0;
  /** The tile grid detections use now (1 × 1: the whole frame only). */
  private columns = 1;
  private rows = 1;
  /** Each tile of the grid in 0..1 of the frame: left, top, right, bottom. */
  private readonly tileBounds = new Float64Array(MAX_TILES * 4);
  /** The tile the next live round starts at, and the tiles of the round out now. */
  private nextTile = 0;
  private roundFirst = 0;
  private roundCount = 0;
  /** Whether the round out looked where a track is (bound once: no allocation per result). */
  private readonly searched = (centreX: number, centreY: number, height: number): boolean => this.roundSearched(centreX, centreY, height);
  private preparedFrame = -1;
  private lastFrame = -1;
  private started = false;
  private counters = { unprotected: 0, detections: 0, failed: 0, skipped: 0, faces: 0 };
  private detectFailureReported = false;
  private closed = false;

  /** `kernels`: the region blur runs in this thread's WebAssembly kernels (the wasm backend); `gpu`: detect on tfjs's WebGPU backend (a hardware GPU). */
  constructor(
    private readonly report: FaceBlurReport = logLine,
    kernels?: WasmKernels,
    private readonly gpu = false,
  ) {
    this.backend = kernels ? 'wasm' : 'js';
    this.regions = kernels ? new WasmRegionBlur({ kernels }) : new RegionBlur();
  }

  configure(params: FaceBlurParams): void {
    if (this.closed) throw new Error('face-blur is closed');
    this.settings = params;
    if (this.frameWidth > 0) this.layout();
    if (this.detector) return;
    this.report('warn', 'face-blur: face detector starting; faces are not blurred until its first detection');
    this.detector = new FaceDetector({
      gpu: this.gpu,
      onState: (state, message) => this.report(state === 'ready' || state === 'closed' ? 'info' : 'error', stateMessage(state, message)),
      onDetectFailed: (message) => {
        if (this.detectFailureReported) return;
        this.detectFailureReported = true;
        this.report('error', `face-blur: a detection failed (${message}); boxes are held from the last one (further failures are only counted)`);
      },
    });
  }

  /** Shown on the operator's card while faces in view may not be hidden. */
  operatorNote(): string | undefined {
    if (this.protecting) return undefined;
    const state = this.detector?.state ?? 'closed';
    if (state === 'failed') return 'faces NOT blurred: the face detector failed';
    if (state === 'restarting') return 'faces not blurred: the face detector is restarting';
    return 'faces not blurred yet: the face detector is starting';
  }

  /** Whether faces in view are being hidden now. */
  get protecting(): boolean {
    return this.detector?.ready === true && this.counters.detections > 0;
  }

  status(): FaceBlurStatus {
    return {
      detector: this.detector?.state ?? 'closed',
      protecting: this.protecting,
      unprotectedFrames: this.counters.unprotected,
      detections: this.counters.detections,
      failedDetections: this.counters.failed,
      skippedDetections: this.counters.skipped,
      restarts: this.detector?.restarts ?? 0,
      faces: this.counters.faces,
      modelLoadMs: this.detector?.modelLoadMs ?? 0,
      lastDetectionMs: this.detector?.resultMs ?? 0,
    };
  }

  /** The detector thread, for tests and benchmarks. */
  get faceDetector(): FaceDetector | undefined {
    return this.detector;
  }

  async prepare(frame: Frame, clock: FrameClock): Promise<void> {
    if (!this.started) this.takeOver(frame, clock.frameIndex);
    const detector = this.detector;
    if (!detector || clock.frameIndex % this.settings.detectEvery !== 0) return;
    await detector.whenReady();
    if (detector.busy) await detector.waitForResult();
    this.takeResult(detector);
    if (frame.width !== this.frameWidth || frame.height !== this.frameHeight) this.resize(frame.width, frame.height);
    // Offline there is time for the whole grid every round.
    if (!this.submit(detector, frame, clock.frameIndex, true)) return;
    await detector.waitForResult();
    this.takeResult(detector);
    this.preparedFrame = clock.frameIndex;
  }

  apply(frame: Frame, clock: FrameClock): void {
    if (!this.started) this.takeOver(frame, clock.frameIndex);
    this.lastFrame = clock.frameIndex;
    if (frame.width !== this.frameWidth || frame.height !== this.frameHeight) this.resize(frame.width, frame.height);
    const detector = this.detector;
    if (detector) {
      this.takeResult(detector);
      if (clock.frameIndex % this.settings.detectEvery === 0 && clock.frameIndex !== this.preparedFrame && detector.ready) {
        if (detector.busy) this.counters.skipped++;
        else this.submit(detector, frame, clock.frameIndex);
      }
    }
    if (!this.protecting) this.counters.unprotected++;
    const { detectEvery, margin, mode, strength } = this.settings;
    const ellipse = this.settings.shape === 'ellipse';
    const count = this.tracker.predict(clock.frameIndex, margin, 2 * detectEvery, STALE_FRAMES, this.boxes);
    let drawnCount = 0;
    const width = frame.width;
    const height = frame.height;
    for (let box = 0; box < count; box++) {
      const left = Math.max(0, Math.floor(this.boxes[box * 4]! * width) & ~1);
      const top = Math.max(0, Math.floor(this.boxes[box * 4 + 1]! * height) & ~1);
      const right = Math.min(width, (Math.ceil(this.boxes[box * 4 + 2]! * width) + 1) & ~1);
      const bottom = Math.min(height, (Math.ceil(this.boxes[box * 4 + 3]! * height) + 1) & ~1);
      if (right - left < 2 || bottom - top < 2) continue;
      this.drawn[drawnCount * 4] = left;
      this.drawn[drawnCount * 4 + 1] = top;
      this.drawn[drawnCount * 4 + 2] = right;
      this.drawn[drawnCount * 4 + 3] = bottom;
      drawnCount++;
      const size = Math.max(2, Math.round((strength * Math.min(right - left, bottom - top)) / 5));
      this.regions.hide(frame, mode, left, top, right, bottom, mode === 'blur' ? size : Math.max(4, size), ellipse);
    }
    this.counters.faces = drawnCount;
  }

  /** The rectangles hidden on the last frame (pixels), as [left, top, right, bottom] each. */
  hiddenBoxes(): [number, number, number, number][] {
    return Array.from({ length: this.counters.faces }, (_, box) => [this.drawn[box * 4]!, this.drawn[box * 4 + 1]!, this.drawn[box * 4 + 2]!, this.drawn[box * 4 + 3]!]);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detector?.close();
    this.regions.close();
    if (this.lastFrame >= 0) handoff = { tracker: this.tracker, lastFrame: this.lastFrame, width: this.frameWidth, height: this.frameHeight };
  }

  /** On the first frame: the tracks of a face-blur that ran the frame before in this thread, if any (a chain change). */
  private takeOver(frame: Frame, frameIndex: number): void {
    this.started = true;
    const previous = handoff;
    if (!previous || previous.lastFrame !== frameIndex - 1 || previous.width !== frame.width || previous.height !== frame.height) return;
    handoff = undefined;
    this.tracker.copyFrom(previous.tracker);
    if (previous.tracker.size > 0) this.report('info', `face-blur: took over ${previous.tracker.size} tracked face(s) from the face-blur this one replaces`);
  }

  private resize(width: number, height: number): void {
    this.frameWidth = width;
    this.frameHeight = height;
    this.regions.reserve(width, height);
    this.layout();
  }

  /** Picks the tile grid for the frame size and settings, and sizes the detector's image for it. */
  private layout(): void {
    const tiled = this.settings.tiles === 'auto' && Math.min(this.frameWidth, this.frameHeight) >= TILES_MIN_SHORT_SIDE;
    const grid = tiled ? autoTileGrid(this.frameWidth, this.frameHeight) : { columns: 1, rows: 1 };
    this.columns = grid.columns;
    this.rows = grid.rows;
    this.nextTile = 0;
    for (let tile = 0; tile < grid.columns * grid.rows; tile++) {
      const rect = tileRect(this.frameWidth, this.frameHeight, grid.columns, grid.rows, tile);
      this.tileBounds[tile * 4] = rect.left / this.frameWidth;
      this.tileBounds[tile * 4 + 1] = rect.top / this.frameHeight;
      this.tileBounds[tile * 4 + 2] = (rect.left + rect.width) / this.frameWidth;
      this.tileBounds[tile * 4 + 3] = (rect.top + rect.height) / this.frameHeight;
    }
    if (tiled) this.downscaler.resize(this.frameWidth, this.frameHeight, TILED_SHORT_SIDE, TILED_LONG_SIDE_MAX);
    else this.downscaler.resize(this.frameWidth, this.frameHeight, DETECTION_SHORT_SIDE, DETECTION_LONG_SIDE_MAX);
  }

  private submit(detector: FaceDetector, frame: Frame, frameIndex: number, allTiles = false): boolean {
    if (!detector.ready || detector.busy) return false;
    const tiles = this.columns * this.rows;
    const count = tiles === 1 ? 0 : allTiles ? tiles : Math.min(tiles, this.settings.tilesPerRound);
    // Up to 1080p the frame goes over as it is and the detector thread scales it; beyond, it is scaled here.
    if (!detector.submitFrame(frame, frameIndex, this.columns, this.rows, this.nextTile, count)) {
      this.downscaler.write(frame, detector.image);
      if (!detector.submit(this.downscaler.width, this.downscaler.height, frameIndex, this.columns, this.rows, this.nextTile, count)) return false;
    }
    this.roundFirst = this.nextTile;
    this.roundCount = count;
    if (tiles > 1) this.nextTile = (this.nextTile + count) % tiles;
    return true;
  }

  private roundSearched(centreX: number, centreY: number, height: number): boolean {
    const tiles = this.columns * this.rows;
    if (tiles === 1 || this.roundCount >= tiles || height >= WHOLE_PASS_FACE) return true;
    for (let step = 0; step < this.roundCount; step++) {
      const at = ((this.roundFirst + step) % tiles) * 4;
      if (centreX >= this.tileBounds[at]! && centreX < this.tileBounds[at + 2]! && centreY >= this.tileBounds[at + 1]! && centreY < this.tileBounds[at + 3]!) return true;
    }
    return false;
  }

  private takeResult(detector: FaceDetector): void {
    if (!detector.takeResult()) return;
    if (detector.resultCount < 0) {
      this.counters.failed++;
      return;
    }
    if (this.counters.detections === 0) this.report('info', `face-blur: protecting (first detection after ${this.counters.unprotected} frames that were not blurred)`);
    this.counters.detections++;
    this.tracker.update(detector.resultFrame, detector.faces, detector.resultCount, this.settings.minConfidence, HOLD_DETECTIONS, this.settings.minFaceSize, this.searched);
  }
}

function stateMessage(state: FaceDetectorState, message: string): string {
  if (state === 'failed') return `face-blur: ${message}; faces are NOT blurred`;
  if (state === 'restarting') return `face-blur: ${message}; new faces are not detected meanwhile`;
  return `face-blur: ${message}`;
}
