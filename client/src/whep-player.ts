import { endSession, negotiate, type NegotiationProgress } from './webrtc-signalling.js';
import { pageToken } from './page-token.js';

/** Plays a stream's processed output in a <video> over WHEP. */
export class WhepPlayer {
  /** The viewer's connection, for diagnostics (getStats) and tests. */
  pc: RTCPeerConnection | undefined;
  private sessionUrl: string | undefined;
  /** Ends the wait to attach the stream (see start) once this player is stopped: its video may play HLS by then. */
  private readonly attachWait = new AbortController();

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
    const attach = (): void => {
      if (this.video.srcObject !== media) this.video.srcObject = media;
    };
    pc.addEventListener('track', (event) => {
      media.addTrack(event.track);
      if (document.readyState === 'complete' || (event.track.kind === 'video' && !event.track.muted)) this.video.srcObject = media;
      else if (event.track.kind === 'video') {
        // Chromium holds the page's load event while a <video> shows a stream with no frame yet (for good when
        // nobody publishes): before load, attach once the video carries media or the page has loaded, whichever is first.
        const wait = { once: true, signal: this.attachWait.signal };
        event.track.addEventListener('unmute', attach, wait);
        window.addEventListener('load', attach, wait);
      }
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') this.onFailure('the WebRTC connection failed');
    });
    this.sessionUrl = await negotiate(pc, `/whep/${encodeURIComponent(this.streamId)}`, pageToken(), this.progress, 'first');
    window.addEventListener('pagehide', () => this.stop());
  }

  stop(): void {
    endSession(this.sessionUrl);
    this.abandon();
  }

  /** The stream ended, so the server already dropped the session: a DELETE would only 404. */
  abandon(): void {
    this.sessionUrl = undefined;
    this.attachWait.abort();
    this.pc?.close();
  }
}
