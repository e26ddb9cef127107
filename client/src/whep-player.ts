import { endSession } from './webrtc-signalling.js';
import { WhepSession, type WhepProgress } from './whep-session.js';

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
    private readonly progress?: WhepProgress,
    /** A session already under way for this stream (the page's early start), adopted instead of a new one. */
    private early?: WhepSession,
  ) {}

  async start(): Promise<void> {
    const session = this.early ?? new WhepSession(this.streamId);
    this.early = undefined;
    const pc = session.pc;
    this.pc = pc;
    const media = new MediaStream();
    const attach = (): void => {
      if (this.video.srcObject !== media) this.video.srcObject = media;
    };
    session.onTrack((track) => {
      media.addTrack(track);
      if (document.readyState === 'complete' || (track.kind === 'video' && !track.muted)) this.video.srcObject = media;
      else if (track.kind === 'video') {
        // Chromium holds the page's load event while a <video> shows a stream with no frame yet (for good when
        // nobody publishes): before load, attach once the video carries media or the page has loaded, whichever is first.
        const wait = { once: true, signal: this.attachWait.signal };
        track.addEventListener('unmute', attach, wait);
        window.addEventListener('load', attach, wait);
      }
    });
    if (this.progress) session.reportProgress(this.progress);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') this.onFailure('the WebRTC connection failed');
    });
    if (pc.connectionState === 'failed') this.onFailure('the WebRTC connection failed');
    this.sessionUrl = await session.sessionUrl;
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
