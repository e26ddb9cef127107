import type { MessagePort } from 'node:worker_threads';
import type { ChainStats } from '../../transforms/chain.js';
import type { ChainSpec } from '../../transforms/chain-spec.js';
import type { InputFigures, PipelineFigures } from '../streams/stream-view.js';
import type { LiveCue, LiveWord } from './live-captioner.js';
import type { ProcessCrash } from '../../core/process/supervised-process.js';
import type { DecoderResume } from './decoder-input.js';

import type { LiveSignalBatch, VideoCodecName } from '../../core/live-media.js';

export type { LiveSignalBatch, VideoCodecName };

/** Settings a pipeline worker starts with (worker_threads workerData). */
/** A stream worker's start: its settings and, where its chain may run on the GPU, its port to the shared GPU thread (WebgpuHub). */
export interface PipelineWorkerData extends PipelineSettings {
  gpuHub: MessagePort | undefined;
}

export interface PipelineSettings {
  streamId: string;
  codec: VideoCodecName;
  width: number;
  height: number;
  hasAudio: boolean;
  ffmpegPath: string;
  outputKbps: number;
  keyframeIntervalS: number;
  /** Where the HLS muxer writes index.m3u8 and its segments. */
  hlsDir: string;
  hlsSegmentS: number;
  hlsListSize: number;
  burnIn: boolean;
  restartBackoffMaxMs: number;
  /** The operator's transforms at start-up (later changes arrive as `chain` messages). */
  chain: ChainSpec;
  /** Folders that lut3d and image file names are resolved in. */
  lutDir: string;
  imageDir: string;
  /** LIVEFX_ASR_COMMAND: an external speech engine for captions; empty: PocketSphinx. */
  asrCommand: string;
  /** LIVEFX_ASR_FALLBACK: who takes over when that engine fails for good. */
  asrFallback: 'pocketsphinx' | 'none';
  /** LIVEFX_TRANSFORM_BACKEND: where the chain's kernels run (resolved in the worker, which owns the kernels' memory). */
  transformBackend: 'auto' | 'webgpu' | 'wasm' | 'js';
  /** LIVEFX_FAULT_GPU_LOSS_AFTER_FRAMES: fault injection, the GPU device destroyed after this many frames on webgpu (0: never). */
  gpuLossAfterFrames: number;
  /** Input limits: a larger picture is scaled down to fit width×height (either orientation), frames above fps are dropped, kbps is what the publisher was asked for. */
  maxInput: { width: number; height: number; fps: number; kbps: number };
}

/** Main thread → worker. Buffers are transferred, not copied. */
export type PipelineInput =
  | { type: 'video'; data: ArrayBuffer; rtpTimestamp: number; captureMs: number; keyframe: boolean; width?: number; height?: number }
  | { type: 'audio'; data: ArrayBuffer; captureMs: number }
  /** A viewer needs a keyframe of the processed stream. */
  | { type: 'keyframe' }
  /** Replace the operator's transforms at the next frame boundary. */
  | { type: 'chain'; requestId: number; spec: ChainSpec }
  | { type: 'close' };

export interface PipelineStats extends PipelineFigures {
  chain: ChainStats;
  restarts: { decoder: number; encoder: number; hls: number };
  /** Frames dropped at the decoder's input because it was behind (each drop waits for the next keyframe), and frames waiting in it now. */
  decoderInput: { framesDropped: number; backlog: number };
  /** 1: every decoded frame goes through the chain; n: every n-th, because the chain misses the frame interval even degraded. */
  processedEvery: number;
  input: InputFigures;
}

/** Worker → main thread. */
export type PipelineOutput =
  | {
      type: 'encoded';
      /** One H.264 access unit as 4-byte length-prefixed NAL units; keyframes carry SPS and PPS first. */
      data: ArrayBuffer;
      rtpTimestamp: number;
      captureMs: number;
      keyframe: boolean;
    }
  | { type: 'stats'; stats: PipelineStats }
  | { type: 'need-keyframe'; reason: string }
  /** A (re)started decoder was given its first frame. */
  | { type: 'decoder-resumed'; resume: DecoderResume }
  /** The stream sheds work to keep up (an operator alert); at most once a minute. */
  | { type: 'overload'; message: string }
  /** The GPU failed (device lost, a shader or validation error): the chain now runs on `backend`, for the rest of the stream. */
  | { type: 'backend-fallback'; backend: 'wasm' | 'js'; message: string }
  | { type: 'chain-result'; requestId: number; error?: string }
  | { type: 'crash'; crash: ProcessCrash }
  /** Something a transform says an operator should know (face-blur not protecting, …). */
  | { type: 'transform-report'; level: 'info' | 'warn' | 'error'; message: string }
  /** A caption cue was created, changed or withdrawn (times in epoch ms); captions run while the chain has a `subtitles` entry. */
  | { type: 'caption'; cue: LiveCue }
  /** Words the speech engine committed (epoch ms), for the recording's transcript. */
  | { type: 'transcript-words'; words: LiveWord[] }
  /** Captions were interrupted at `atMs` (decoder or engine crash); they resume by themselves. */
  | { type: 'caption-gap'; atMs: number; reason: string }
  /** Live signals (scene changes, motion, audio level) of the last second, for the recording's event log. */
  | { type: 'signals'; batch: LiveSignalBatch }
  /** The LL-HLS muxer (re)started: its fMP4 initialization segment (ftyp+moov). */
  | { type: 'll-hls-init'; data: ArrayBuffer; originMs: number }
  /** One fMP4 fragment (moof+mdat) of the LL-HLS output: a partial segment. */
  | { type: 'll-hls-part'; data: ArrayBuffer; durationS: number; independent: boolean }
  | { type: 'closed' };

/** Milliseconds since the epoch with sub-ms precision, comparable across threads (unlike performance.now()). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
