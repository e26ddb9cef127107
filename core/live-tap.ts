// What passes from a live stream to the features that keep its compressed media (the recorder).

import type { AssembledFrame } from './rtp/rtp-frame-assembler.js';

/** One access unit of the encoder's output: what viewers get and the transformed recording keeps. */
export interface EncodedAccessUnit {
  /** 4-byte length-prefixed NAL units; keyframes start with SPS and PPS. */
  data: Buffer;
  rtpTimestamp: number;
  captureMs: number;
  keyframe: boolean;
}

/**
 * Sees every compressed frame of a stream as it passes (the recorder). Called on the event loop
 * with buffers it must not keep without copying; a tap that throws is reported and does not stop the stream.
 */
export interface LiveMediaTap {
  /** An assembled frame of the publisher's video (H.264 Annex-B or VP8), before any processing. */
  originalVideo(frame: AssembledFrame): void;
  /** One Opus packet (the RTP payload) and its arrival time (epoch ms, the clock of frames' firstPacketMs). */
  originalAudio(payload: Buffer, arrivalMs: number): void;
  /** One access unit of the encoder's output (what viewers get). */
  transformedVideo(unit: EncodedAccessUnit): void;
}
