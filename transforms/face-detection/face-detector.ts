import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Frame } from '../frame.js';
import { FRAME_CAPACITY, I420_FRAME, RGB_IMAGE, SHARED_BYTES, Slot, sharedViews, waitAsync, type DetectorMessage, type DetectorWorkerData } from './detector-protocol.js';

export type FaceDetectorState = 'starting' | 'ready' | 'restarting' | 'failed' | 'closed';

export interface FaceDetectorOptions {
  /** Faces scoring below this are not reported at all. */
  minConfidence?: number;
  /** Told of every change of state, with a sentence fit for a log. */
  onState?: (state: FaceDetectorState, message: string) => void;
  /** Told when one detection failed without the thread dying. */
  onDetectFailed?: (message: string) => void;
  /** BlazeFace on tfjs's WebGPU backend when a hardware adapter opens in the detector's thread (the chain runs on webgpu); else wasm. */
  gpu?: boolean;
  /** Restarts in a row (without a detection in between) before the detector gives up. */
  maxRestarts?: number;
}

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5000;
const WAIT_TIMEOUT_MS = 30_000;

/** The built worker: under vitest this module runs from its .ts source, and a thread needs JavaScript. */
function workerUrl(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./face-detector-worker.js', import.meta.url);
  const built = new URL('../../dist/transforms/face-detection/face-detector-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(built))) throw new Error(`the face detector's worker is not built (${fileURLToPath(built)}): run npx tsc -p tsconfig.json`);
  return built;
}

/**
 * The stream worker's handle on one face-detection thread. Images go in and boxes come back
 * through shared memory (no allocation, no message per frame); a crashed thread is restarted
 * with backoff, and after `maxRestarts` in a row the detector stays `failed`.
 */
export class FaceDetector {
  private readonly shared = new SharedArrayBuffer(SHARED_BYTES);
  private readonly control: Int32Array;
  /** Packed RGB of the next request; write width × height × 3 bytes, then submit(). */
  readonly image: Uint8Array;
  /** Or the I420 frame of the next request, for submitFrame(). */
  private readonly frame: Uint8Array;
  /** The latest result: per face left, top, width, height (0..1) and score. */
  readonly faces: Float32Array;
  private worker: Worker | undefined;
  private currentState: FaceDetectorState = 'starting';
  private consumedSeq = 0;
  private restartsInARow = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readyWaiters: (() => void)[] = [];
  private exitWaiters: (() => void)[] = [];
  private readonly maxRestarts: number;
  private readonly minConfidence: number;
  /** Threads started after the first one. */
  restarts = 0;
  modelLoadMs = 0;
  warmupMs = 0;
  /** Faces in the result the last takeResult() returned, -1 when that detection failed. */
  resultCount = 0;
  resultFrame = 0;
  resultMs = 0;
  /** Detector passes the last result took (1 + tiles). */
  resultPasses = 0;
  lastError = '';

  constructor(private readonly options: FaceDetectorOptions = {}) {
    const views = sharedViews(this.shared);
    this.control = views.control;
    this.image = views.image;
    this.frame = views.frame;
    this.faces = views.faces;
    this.maxRestarts = options.maxRestarts ?? 5;
    this.minConfidence = options.minConfidence ?? 0.1;
    this.start();
  }

  get state(): FaceDetectorState {
    return this.currentState;
  }

  get ready(): boolean {
    return this.currentState === 'ready';
  }

  /** A request is out and its result has not been taken yet. */
  get busy(): boolean {
    return Atomics.load(this.control, Slot.requestSeq) !== this.consumedSeq;
  }

  /** The id of the current thread, for tests that check it ends. */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  /**
   * Hands the image in `image` to the thread, to search whole and then in `tileCount` tiles (from
   * `tileFirst` on, wrapping) of a columns × rows grid (1 × 1: whole only, the default: all tiles);
   * false (and nothing sent) when not ready or busy.
   */
  submit(width: number, height: number, frameIndex: number, columns = 1, rows = 1, tileFirst = 0, tileCount = columns * rows): boolean {
    return this.request(RGB_IMAGE, width, height, frameIndex, columns, rows, tileFirst, tileCount);
  }

  private request(format: number, width: number, height: number, frameIndex: number, columns: number, rows: number, tileFirst: number, tileCount: number): boolean {
    if (this.currentState !== 'ready' || this.busy) return false;
    this.control[Slot.requestWidth] = width;
    this.control[Slot.requestHeight] = height;
    this.control[Slot.requestColumns] = columns;
    this.control[Slot.requestRows] = rows;
    this.control[Slot.requestTileFirst] = tileFirst;
    this.control[Slot.requestTileCount] = tileCount;
    this.control[Slot.requestFormat] = format;
    this.control[Slot.requestFrame] = frameIndex;
    Atomics.add(this.control, Slot.requestSeq, 1);
    Atomics.notify(this.control, Slot.requestSeq);
    return true;
  }

  /** Whether submitFrame() takes frames of this size (up to 1080p). */
  static fitsFrame(width: number, height: number): boolean {
    return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2) <= FRAME_CAPACITY;
  }

  /**
   * Like submit(), but hands over the I420 frame itself (three copies, no pixel work here): the thread
   * scales it to its short side at 512 px with tiles, at 256 px without, as RgbDownscaler does.
   */
  submitFrame(frame: Frame, frameIndex: number, columns = 1, rows = 1, tileFirst = 0, tileCount = columns * rows): boolean {
    if (this.currentState !== 'ready' || this.busy || !FaceDetector.fitsFrame(frame.width, frame.height)) return false;
    const lumaBytes = frame.width * frame.height;
    const chromaBytes = Math.ceil(frame.width / 2) * Math.ceil(frame.height / 2);
    // Planes of exactly their size are copied whole (a subarray would allocate a view per frame).
    if (frame.y.length !== lumaBytes || frame.u.length !== chromaBytes || frame.v.length !== chromaBytes) return false;
    this.frame.set(frame.y, 0);
    this.frame.set(frame.u, lumaBytes);
    this.frame.set(frame.v, lumaBytes + chromaBytes);
    return this.request(I420_FRAME, frame.width, frame.height, frameIndex, columns, rows, tileFirst, tileCount);
  }

  /** True when a result arrived since the last call; it is then in faces/resultCount/resultFrame. */
  takeResult(): boolean {
    const resultSeq = Atomics.load(this.control, Slot.resultSeq);
    if (resultSeq === this.consumedSeq) return false;
    this.consumedSeq = resultSeq;
    this.resultCount = this.control[Slot.resultCount]!;
    this.resultFrame = this.control[Slot.resultFrame]!;
    this.resultMs = this.control[Slot.resultMicros]! / 1000;
    this.resultPasses = this.control[Slot.resultPasses]!;
    if (this.resultCount >= 0) this.restartsInARow = 0;
    return true;
  }

  /** Resolves once the thread is ready, or has failed, or the detector is closed. */
  whenReady(): Promise<void> {
    if (this.currentState === 'ready' || this.currentState === 'failed' || this.currentState === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Resolves once the request out (if any) has its result, or the thread died, or 30 s passed. */
  async waitForResult(): Promise<void> {
    const requested = Atomics.load(this.control, Slot.requestSeq);
    for (;;) {
      const resultSeq = Atomics.load(this.control, Slot.resultSeq);
      if (resultSeq === requested || this.currentState === 'closed') return;
      const waiting = waitAsync(this.control, Slot.resultSeq, resultSeq, WAIT_TIMEOUT_MS);
      if (!waiting.async) continue;
      if ((await waiting.value) === 'timed-out') return;
    }
  }

  /** Resolves when the current thread has exited (at once if there is none). */
  whenExited(): Promise<void> {
    if (!this.worker) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Ends the thread; idempotent. */
  close(): void {
    if (this.currentState === 'closed') return;
    this.setState('closed', 'face detector closed');
    clearTimeout(this.restartTimer);
    this.finishRequest();
    void this.worker?.terminate();
  }

  /** Ends the thread as a crash would, to exercise the restart path. */
  crashForTesting(): void {
    void this.worker?.terminate();
  }

  private start(): void {
    let worker: Worker;
    try {
      worker = new Worker(workerUrl(), {
        workerData: { shared: this.shared, minConfidence: this.minConfidence, gpu: this.options.gpu ?? false } satisfies DetectorWorkerData,
        // The host's flags are not the thread's business, and some (--input-type, --expose-gc) make a Worker refuse to start.
        execArgv: [],
      });
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.setState('failed', `face detector could not start: ${this.lastError}`);
      return;
    }
    // Not unref'd: a transform that is never closed keeps its process alive, which tests would notice.
    this.worker = worker;
    worker.on('message', (message: DetectorMessage) => this.onMessage(message));
    worker.on('error', (error) => {
      this.lastError = error.message;
    });
    worker.on('exit', (code) => this.onExit(worker, code));
  }

  private onMessage(message: DetectorMessage): void {
    if (this.currentState === 'closed') return;
    if (message.type === 'ready') {
      this.modelLoadMs = message.loadMs;
      this.warmupMs = message.warmupMs;
      this.setState('ready', `face detector ready: BlazeFace on tfjs ${message.backend}, model loaded in ${Math.round(message.loadMs)} ms, warm-up ${Math.round(message.warmupMs)} ms`);
    } else if (message.type === 'load-failed') {
      // Loading the model from disk fails the same way every time: no restart.
      this.lastError = message.message;
      this.setState('failed', `face detector failed to load its model: ${message.message}`);
      void this.worker?.terminate();
    } else {
      this.lastError = message.message;
      this.options.onDetectFailed?.(message.message);
    }
  }

  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    for (const resolve of this.exitWaiters.splice(0)) resolve();
    this.finishRequest();
    if (this.currentState === 'closed' || this.currentState === 'failed') return;
    const reason = this.lastError || `exit code ${code}`;
    if (this.restartsInARow >= this.maxRestarts) {
      this.setState('failed', `face detector crashed ${this.restartsInARow + 1} times in a row (${reason}); giving up`);
      return;
    }
    const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.restartsInARow);
    this.restartsInARow++;
    this.setState('restarting', `face detector thread ended (${reason}); restarting in ${backoff} ms`);
    this.lastError = '';
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.start();
    }, backoff);
  }

  /** A request the thread will never answer counts as a failed detection, and wakes whoever waits. */
  private finishRequest(): void {
    const requested = Atomics.load(this.control, Slot.requestSeq);
    if (Atomics.load(this.control, Slot.resultSeq) === requested) return;
    this.control[Slot.resultCount] = -1;
    this.control[Slot.resultFrame] = this.control[Slot.requestFrame]!;
    this.control[Slot.resultMicros] = 0;
    Atomics.store(this.control, Slot.resultSeq, requested);
    Atomics.notify(this.control, Slot.resultSeq);
  }

  private setState(state: FaceDetectorState, message: string): void {
    this.currentState = state;
    if (state !== 'starting' && state !== 'restarting') for (const resolve of this.readyWaiters.splice(0)) resolve();
    this.options.onState?.(state, message);
  }
}
