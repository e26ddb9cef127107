import { endSession, negotiate, type NegotiationProgress } from './webrtc-signalling.js';
import { pageToken } from './page-token.js';

/** Plays a stream's processed output in a <video> over WHEP. */
export class WhepPlayer {
  /** The viewer's connection, for diagnostics (getStats) and tests. */
  pc: RTCPeerConnection | undefined;
  private sessionUrl: string | undefined;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly streamId: string,
    private readonly onFailure: (reason: string) => void,
    private readonly progress?: NegotiationProgress,
  ) {}

  async start(): Promise<void> {
    const pc = new RTCPeerConnection();
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const media = new MediaStream();
    pc.addEventListener('track', (event) => {
      media.addTrack(event.track);
      this.video.srcObject = media;
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') this.onFailure('the WebRTC connection failed');
    });
    this.sessionUrl = await negotiate(pc, `/whep/${encodeURIComponent(this.streamId)}`, pageToken(), this.progress);
    window.addEventListener('pagehide', () => this.stop());
  }

  stop(): void {
    endSession(this.sessionUrl);
    this.abandon();
  }

  /** The stream ended, so the server already dropped the session: a DELETE would only 404. */
  abandon(): void {
    this.sessionUrl = undefined;
    this.pc?.close();
  }
}
