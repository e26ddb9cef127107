// What the recorder needs from the live side, as ports: the app shell (server/) hands it its stream
// registry and audience hub, which fit these shapes; the recorder never imports the shell.

import type { LiveSignalBatch, LiveWord, StreamState } from '../core/live-media.js';
import type { LiveMediaTap } from '../core/live-tap.js';
import type { ChainSpec } from '../transforms/chain-spec.js';

/** The events of a live stream that a recording keeps. */
export type RecordableStreamEvents = {
  state: [state: StreamState];
  stats: [stats: { viewers: ViewerCounts }];
  chain: [chain: ChainSpec, changedBy: string];
  'transcript-words': [words: LiveWord[]];
  'caption-gap': [atMs: number, reason: string];
  'media-gap': [fromMs: number, durationMs: number];
  signals: [batch: LiveSignalBatch];
};

export interface ViewerCounts {
  webrtc: number;
  hls: number;
}

type Listener<E extends keyof RecordableStreamEvents> = (...args: RecordableStreamEvents[E]) => void;

/** One live stream as the recorder sees it. */
export interface RecordableStream {
  readonly id: string;
  readonly title: string;
  /** False when the streamer opted out of recording. */
  readonly record: boolean;
  readonly publisherHasAudio: boolean;
  readonly endReason: string | undefined;
  readonly whenClosed: Promise<void>;
  stats(): { viewers: ViewerCounts };
  requestPublisherKeyframe(reason: string): void;
  requestProcessedKeyframe(): void;
  addMediaTap(tap: LiveMediaTap): () => void;
  on<E extends keyof RecordableStreamEvents>(event: E, listener: Listener<E>): unknown;
  off<E extends keyof RecordableStreamEvents>(event: E, listener: Listener<E>): unknown;
}

/** Where live streams come from: `newstream` for every stream created from now on. */
export interface StreamSource {
  on(event: 'newstream', listener: (stream: RecordableStream) => void): unknown;
}

/** The audience events a recording archives, at the time the server got them (epoch ms). */
export interface AudienceFeed {
  on(event: 'chat', listener: (event: { streamId: string; id: string; user: string; text: string; viewerId: string; at: number }) => void): unknown;
  on(event: 'reaction', listener: (event: { streamId: string; user: string; kind: string; at: number }) => void): unknown;
  on(event: 'moderation', listener: (event: { streamId: string; at: number } & Record<string, unknown>) => void): unknown;
}
