import { negotiate } from './webrtc-signalling.js';
import { pageToken } from './page-token.js';

/** When the offer left and the answer was applied (performance.now()), for a viewer's join timings. */
export interface WhepProgress {
  onOfferSent(atMs: number): void;
  onAnswered(atMs: number): void;
}

/**
 * One WHEP viewing session: a receive-only connection whose offer goes out as soon as it is made.
 * It keeps the tracks and the signalling times that come before anyone listens, so a session
 * started early (see early-whep.ts) hands the player exactly what a session of its own would have.
 */
export class WhepSession {
  readonly pc = new RTCPeerConnection();
  /** The session's URL (for DELETE) once answered; rejects with a SignallingError when refused. */
  readonly sessionUrl: Promise<string>;
  private readonly tracks: MediaStreamTrack[] = [];
  private onTrackListener: ((track: MediaStreamTrack) => void) | undefined;
  private readonly times: { offerSent?: number; answered?: number } = {};
  private progress: WhepProgress | undefined;

  constructor(streamId: string) {
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.addEventListener('track', (event) => {
      this.tracks.push(event.track);
      this.onTrackListener?.(event.track);
    });
    this.sessionUrl = negotiate(
      this.pc,
      `/whep/${encodeURIComponent(streamId)}`,
      pageToken(),
      {
        onOfferSent: () => {
          this.times.offerSent = performance.now();
          this.progress?.onOfferSent(this.times.offerSent);
        },
        onAnswered: () => {
          this.times.answered = performance.now();
          this.progress?.onAnswered(this.times.answered);
        },
      },
      'none',
    );
    // Nobody may be waiting yet (an early session): the player that adopts it sees the refusal.
    this.sessionUrl.catch(() => undefined);
  }

  /** Calls `listener` with every track so far and each one after. */
  onTrack(listener: (track: MediaStreamTrack) => void): void {
    this.onTrackListener = listener;
    for (const track of this.tracks) listener(track);
  }

  /** Reports the signalling steps, those already past with the time they happened. */
  reportProgress(progress: WhepProgress): void {
    this.progress = progress;
    if (this.times.offerSent !== undefined) progress.onOfferSent(this.times.offerSent);
    if (this.times.answered !== undefined) progress.onAnswered(this.times.answered);
  }
}
