// The vocabulary of a live stream's media that the app shell (server/) and the features that consume
// live media (recorder/, highlights/) share. Types only: no feature needs the shell to name them.

export type VideoCodecName = 'H264' | 'VP8';

/** idle: created, no publisher yet; live: media flowing; ended: closed for good. */
export type StreamState = 'idle' | 'live' | 'ended';

/** A word the speech engine committed, on the server's clock (epoch ms). */
export interface LiveWord {
  word: string;
  startMs: number;
  endMs: number;
  conf?: number;
}

/**
 * One second of live signals for the highlights stage (capture clock, epoch ms). Video: the largest
 * scene motion (0..100, -1: no frame) per slot and the frames whose scene-change score reached the cut
 * threshold as [epoch ms, score]; audio: the RMS level in dBFS per slot.
 */
export interface LiveSignalBatch {
  source: 'video' | 'audio';
  startMs: number;
  slotMs: number;
  values: number[];
  cuts?: [number, number][];
}
