import type { RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { iceGatheringComplete } from './ice-gathering.js';
import { SdpError, type ConnectionState, type SfuUpstream, type SfuUpstreamEvents } from './sfu.js';

export interface WeriftUpstreamOptions {
  /** A peer connection offering H.264 video and opus audio (made by WeriftSfu with this node's ICE settings). */
  pc: RTCPeerConnection;
  log: Logger;
}

/**
 * This node as a WHEP viewer of another node: a receive-only werift peer connection whose RTP packets
 * are handed on as they arrive (serialized once, whatever the number of viewers they then go to).
 */
export class WeriftUpstream extends TypedEmitter<SfuUpstreamEvents> implements SfuUpstream {
  private readonly pc: RTCPeerConnection;
  private readonly log: Logger;
  private readonly video: RTCRtpTransceiver;
  private videoSsrc: number | undefined;
  private isClosed = false;

  constructor(options: WeriftUpstreamOptions) {
    super();
    ({ pc: this.pc, log: this.log } = options);
    this.video = this.pc.addTransceiver('video', { direction: 'recvonly' });
    const audio = this.pc.addTransceiver('audio', { direction: 'inactive' });
    this.video.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp) => {
        if (this.isClosed) return;
        this.videoSsrc = rtp.header.ssrc;
        this.safeEmit('video', rtp.serialize());
      }),
    );
    audio.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp) => {
        if (!this.isClosed) this.safeEmit('audio', rtp.serialize());
      }),
    );
    this.pc.connectionStateChange.subscribe((state) => this.safeEmit('connection-state', state as ConnectionState));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await iceGatheringComplete(this.pc);
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new SdpError('no local description was produced for the relay subscription');
    // This side starts DTLS (the answerer takes the passive role): it does so once it holds the answer. As the passive
    // side, the owner's ClientHello could arrive before this node had the answer, and the session then never completed.
    return sdp.replaceAll('a=setup:actpass', 'a=setup:active');
  }

  async accept(answerSdp: string): Promise<void> {
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    } catch (error) {
      throw new SdpError(`the owner's SDP answer could not be applied: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  requestKeyframe(): void {
    if (this.isClosed || this.videoSsrc === undefined) return;
    void this.video.receiver.sendRtcpPLI(this.videoSsrc);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.removeAllListeners();
    await this.pc.close().catch((error: unknown) => this.log.debug({ err: error }, 'relay upstream close failed'));
  }
}
