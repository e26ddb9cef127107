// The public shape of a stream (GET /v1/streams/:id, socket.io `/live`). Types only: the browser
// pages import them too (type imports vanish when compiled), so the API is written down once.

import type { ChainStats } from '../../transforms/chain-stats.js';

export type StreamState = 'idle' | 'live' | 'ended';

/** What the pipeline measures, per stream. */
export interface PipelineFigures {
  width: number;
  height: number;
  fpsIn: number;
  fpsOut: number;
  framesDropped: number;
  stageMs: { decode: number; transforms: number; encode: number };
}

export interface StreamStats extends PipelineFigures {
  viewers: { webrtc: number; hls: number };
  /** Extension of the issue-3 contract: what each transform costs (burn-in included). */
  chain: ChainStats;
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
