// The public shape of a stream (GET /v1/streams/:id, socket.io `/live`). Types only: the browser
// pages import them too (type imports vanish when compiled), so the API is written down once.

import type { ChainStats } from '../../transforms/chain-stats.js';

import type { StreamState } from '../../core/live-media.js';

export type { StreamState };

/** What the pipeline measures, per stream. */
export interface PipelineFigures {
  width: number;
  height: number;
  fpsIn: number;
  fpsOut: number;
  framesDropped: number;
  stageMs: { decode: number; transforms: number; encode: number };
}

/** Which input limit is acting: the picture is processed smaller, frames over the rate are dropped, the publisher sends more than it was asked to. */
export type InputLimit = 'resolution' | 'fps' | 'bitrate';

/** What the publisher sends, against LIVEFX_MAX_INPUT_RESOLUTION, LIVEFX_MAX_INPUT_FPS and LIVEFX_MAX_PUBLISH_KBPS. */
export interface InputFigures {
  /** The publisher's picture (stats.width/height are what is processed). */
  width: number;
  height: number;
  /** Frames and video kbit/s arriving from the publisher. */
  fps: number;
  kbps: number;
  /** Decoded frames dropped since the start because they came faster than LIVEFX_MAX_INPUT_FPS. */
  framesOverFpsLimit: number;
  /** The limits acting now (empty: the input is within all of them). */
  limited: InputLimit[];
}

export interface StreamStats extends PipelineFigures {
  viewers: { webrtc: number; hls: number };
  /** Extension of the issue-3 contract: what each transform costs (burn-in included). */
  chain: ChainStats;
  /** The publisher's input and the limits acting on it. */
  input: InputFigures;
  /** 1: every frame goes through the chain; n: every n-th, because the chain misses the frame interval even degraded (an overload). */
  processedEvery: number;
}

/** `private`: watched only through a signed viewer link (POST /v1/streams/:id/viewer-links). */
export type StreamVisibility = 'public' | 'private';

export interface StreamView {
  id: string;
  title: string;
  state: StreamState;
  visibility: StreamVisibility;
  createdAt: string;
  stats: StreamStats;
}
