import { Worker } from 'node:worker_threads';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { LivefxError } from '../../core/errors.js';
import type { LiveCue, LiveWord } from './live-captioner.js';
import type { ProcessCrash } from '../../core/process/supervised-process.js';
import type { ChainSpec } from '../../transforms/chain-spec.js';
import type { DecoderResume } from './decoder-input.js';
import type { LiveSignalBatch, PipelineInput, PipelineOutput, PipelineSettings, PipelineStats, PipelineWorkerData } from './pipeline-messages.js';
import { gpuDeviceNodePresent } from '../../transforms/webgpu/webgpu-device.js';
import { WebgpuHub } from '../../transforms/webgpu/webgpu-hub.js';

import type { EncodedAccessUnit } from '../../core/live-tap.js';

export type { EncodedAccessUnit };

export type FramePipelineEvents = {
  encoded: [unit: EncodedAccessUnit];
  stats: [stats: PipelineStats];
  'need-keyframe': [reason: string];
  /** A (re)started decoder was given its first frame. */
  'decoder-resumed': [resume: DecoderResume];
  /** The stream sheds work to keep up (heavy transforms off, frames skipped before the decoder); at most once a minute. */
  overload: [message: string];
  /** The GPU failed mid-stream: the chain runs on `backend` (wasm, else js) from now on. */
  'backend-fallback': [backend: 'wasm' | 'js', message: string];
  crash: [crash: ProcessCrash];
  'transform-report': [level: 'info' | 'warn' | 'error', message: string];
  /** The start-up chain could not be configured (e.g. its LUT file went bad); the stream runs without it. */
  'chain-error': [message: string];
  /** A caption cue was created, changed or withdrawn (epoch ms). */
  caption: [cue: LiveCue];
  /** Committed words of the live transcript (epoch ms). */
  'transcript-words': [words: LiveWord[]];
  /** Captions were interrupted (a crash); they resume by themselves. */
  'caption-gap': [atMs: number, reason: string];
  /** One second of live signals (scene changes, motion, audio level) for the recording. */
  signals: [batch: LiveSignalBatch];
  /** The LL-HLS muxer (re)started with this fMP4 initialization segment. */
  /** The LL-HLS muxer (re)started; `originMs`: the epoch ms of its timeline's 0. */
  'll-hls-init': [bytes: Buffer, originMs: number];
  /** A partial segment (one fMP4 fragment) of the LL-HLS output. */
  'll-hls-part': [bytes: Buffer, durationS: number, independent: boolean];
  /** The worker itself failed (a bug, not an ffmpeg crash); the pipeline is closed. */
  failed: [error: Error];
};

const CLOSE_TIMEOUT_MS = 5000;

/** The worker could not configure a chain spec (a bad LUT file, …); the running chain is unchanged. */
export class ChainRejectedError extends LivefxError {
  override name = 'ChainRejectedError';
  constructor(message: string) {
    super('chain_rejected', message);
  }
}

/** The main thread's handle on one stream's worker thread: frames in, encoded frames and stats out. */
export class FramePipeline extends TypedEmitter<FramePipelineEvents> {
  private readonly worker: Worker;
  private isClosed = false;
  private closedPromise: Promise<void> | undefined;
  private latestStats: PipelineStats | undefined;
  private nextRequestId = 1;
  private readonly pendingChains = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(readonly settings: PipelineSettings) {
    super();
    // A chain that may run on the GPU gets a port to the process's shared GPU thread: one device for every stream.
    const gpuHub = settings.transformBackend === 'webgpu' || (settings.transformBackend === 'auto' && gpuDeviceNodePresent()) ? WebgpuHub.shared().connection() : undefined;
    this.worker = new Worker(new URL('./pipeline-worker.js', import.meta.url), {
      workerData: { ...settings, gpuHub } satisfies PipelineWorkerData,
      transferList: gpuHub ? [gpuHub] : [],
    });
    this.worker.on('message', (message: PipelineOutput) => this.onMessage(message));
    this.worker.on('error', (error) => {
      this.safeEmit('failed', error);
      void this.close();
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get stats(): PipelineStats | undefined {
    return this.latestStats;
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  pushVideo(frame: { data: Buffer; rtpTimestamp: number; captureMs: number; keyframe: boolean; width?: number; height?: number }): void {
    if (this.isClosed) return;
    const data = toTransferable(frame.data);
    const message: PipelineInput = {
      type: 'video',
      data,
      rtpTimestamp: frame.rtpTimestamp,
      captureMs: frame.captureMs,
      keyframe: frame.keyframe,
      ...(frame.width !== undefined ? { width: frame.width } : {}),
      ...(frame.height !== undefined ? { height: frame.height } : {}),
    };
    this.worker.postMessage(message, [data]);
  }

  pushAudio(packet: Buffer, captureMs: number): void {
    if (this.isClosed) return;
    const data = toTransferable(packet);
    this.worker.postMessage({ type: 'audio', data, captureMs } satisfies PipelineInput, [data]);
  }

  /** Asks the encoder for a keyframe (a viewer joined or lost its picture); the worker rate-limits. */
  requestKeyframe(): void {
    if (!this.isClosed) this.worker.postMessage({ type: 'keyframe' } satisfies PipelineInput);
  }

  /** Sends a new chain to the worker; resolves once it is configured (it shows from the next frame). */
  applyChain(spec: ChainSpec): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error('the pipeline is closed'));
    const requestId = this.nextRequestId++;
    return new Promise<void>((resolve, reject) => {
      this.pendingChains.set(requestId, { resolve, reject });
      this.worker.postMessage({ type: 'chain', requestId, spec } satisfies PipelineInput);
    });
  }

  /** Stops the worker after it has ended its processes; idempotent. */
  close(): Promise<void> {
    if (this.closedPromise) return this.closedPromise;
    this.isClosed = true;
    this.closedPromise = new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), CLOSE_TIMEOUT_MS);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.on('message', (message: PipelineOutput) => {
        if (message.type === 'closed') void this.worker.terminate();
      });
      this.worker.postMessage({ type: 'close' } satisfies PipelineInput);
    }).finally(() => {
      for (const pending of this.pendingChains.values()) pending.reject(new Error('the pipeline closed'));
      this.pendingChains.clear();
      this.removeAllListeners();
    });
    return this.closedPromise;
  }

  private onMessage(message: PipelineOutput): void {
    switch (message.type) {
      case 'encoded':
        if (this.isClosed) return;
        this.safeEmit('encoded', {
          data: Buffer.from(message.data),
          rtpTimestamp: message.rtpTimestamp,
          captureMs: message.captureMs,
          keyframe: message.keyframe,
        });
        break;
      case 'stats':
        this.latestStats = message.stats;
        this.safeEmit('stats', message.stats);
        break;
      case 'need-keyframe':
        this.safeEmit('need-keyframe', message.reason);
        break;
      case 'decoder-resumed':
        this.safeEmit('decoder-resumed', message.resume);
        break;
      case 'overload':
        this.safeEmit('overload', message.message);
        break;
      case 'backend-fallback':
        this.safeEmit('backend-fallback', message.backend, message.message);
        break;
      case 'crash':
        this.safeEmit('crash', message.crash);
        break;
      case 'transform-report':
        this.safeEmit('transform-report', message.level, message.message);
        break;
      case 'chain-result': {
        const pending = this.pendingChains.get(message.requestId);
        this.pendingChains.delete(message.requestId);
        if (message.error) {
          if (pending) pending.reject(new ChainRejectedError(message.error));
          else this.safeEmit('chain-error', message.error);
        } else {
          pending?.resolve();
        }
        break;
      }
      case 'caption':
        this.safeEmit('caption', message.cue);
        break;
      case 'transcript-words':
        this.safeEmit('transcript-words', message.words);
        break;
      case 'caption-gap':
        this.safeEmit('caption-gap', message.atMs, message.reason);
        break;
      case 'signals':
        this.safeEmit('signals', message.batch);
        break;
      case 'll-hls-init':
        this.safeEmit('ll-hls-init', Buffer.from(message.data), message.originMs);
        break;
      case 'll-hls-part':
        this.safeEmit('ll-hls-part', Buffer.from(message.data), message.durationS, message.independent);
        break;
      case 'closed':
        break;
    }
  }
}

/** An ArrayBuffer holding exactly these bytes, so it can be transferred without dragging a pool slab along. */
function toTransferable(bytes: Buffer): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}
