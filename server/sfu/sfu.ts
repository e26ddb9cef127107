import type { TypedEmitter } from '../../core/typed-emitter.js';
import { LivefxError } from '../../core/errors.js';

export type PublisherVideoCodec = 'H264' | 'VP8';

/** One RTP packet of the publisher's video, as the frame assembler needs it. */
export interface VideoRtp {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
  codec: PublisherVideoCodec;
  /** The whole packet as received, serialized on demand (for forwarding the original stream). */
  serialize(): Buffer;
}

export type ConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export type SfuPublisherEvents = {
  video: [packet: VideoRtp, arrivalMs: number];
  /** A serialized opus RTP packet, forwarded as is to viewers. */
  audio: [packet: Buffer, arrivalMs: number];
  'connection-state': [state: ConnectionState];
};

export interface SfuPublisher extends TypedEmitter<SfuPublisherEvents> {
  readonly id: string;
  readonly hasAudio: boolean;
  readonly closed: boolean;
  /** Asks the publisher for a keyframe (RTCP PLI); the caller rate-limits. */
  requestKeyframe(): void;
  close(): Promise<void>;
}

export type SfuSubscriberEvents = {
  'keyframe-request': [];
  /** ICE has connected; DTLS follows (tens of ms): early enough to ask for the keyframe the viewer starts with. */
  'ice-connected': [];
  'connection-state': [state: ConnectionState];
};

export interface SfuSubscriber extends TypedEmitter<SfuSubscriberEvents> {
  readonly id: string;
  readonly closed: boolean;
  /** Sends one serialized H.264 RTP packet of the processed stream. */
  sendVideo(packet: Buffer): void;
  /** Sends one serialized opus RTP packet. */
  sendAudio(packet: Buffer): void;
  close(): Promise<void>;
}

export type SfuUpstreamEvents = {
  /** One serialized H.264 RTP packet of the other node's processed stream. */
  video: [packet: Buffer];
  /** One serialized opus RTP packet. */
  audio: [packet: Buffer];
  'connection-state': [state: ConnectionState];
};

/** This node as a WHEP viewer of another node (a relay's one subscription to a stream's owner). */
export interface SfuUpstream extends TypedEmitter<SfuUpstreamEvents> {
  readonly closed: boolean;
  /** The receive-only offer (H.264 video, opus audio) with every ICE candidate (non-trickle). */
  offer(): Promise<string>;
  /** Applies the owner's answer; media then arrives as `video` and `audio` events. */
  accept(answerSdp: string): Promise<void>;
  /** Asks the owner for a keyframe (RTCP PLI); the caller rate-limits. */
  requestKeyframe(): void;
  close(): Promise<void>;
}

/** The media router. The embedded implementation is werift; a native SFU can replace it behind this. */
export interface Sfu {
  /** Answers a publisher's SDP offer (WHIP). Throws SdpError when the offer is unusable. */
  createPublisher(offerSdp: string): Promise<{ publisher: SfuPublisher; answerSdp: string }>;
  /**
   * Answers a viewer's SDP offer (WHEP). The processed stream is always H.264; a viewer of the
   * original stream is negotiated with the publisher's codec.
   */
  createSubscriber(offerSdp: string, videoCodec?: PublisherVideoCodec): Promise<{ subscriber: SfuSubscriber; answerSdp: string }>;
  /** A receive-only session towards another node's WHEP endpoint (relays). */
  createUpstream(): SfuUpstream;
  close(): Promise<void>;
}

/** The SDP offer cannot be answered: malformed, or no codec we can use. Maps to HTTP 400. */
export class SdpError extends LivefxError {
  override name = 'SdpError';
  constructor(message: string) {
    super('invalid_sdp', message);
  }
}
