import { randomUUID } from 'node:crypto';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  ReceiverEstimatedMaxBitrate,
  RtcpPayloadSpecificFeedback,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { answerDtlsRole, guardDtlsInput } from './dtls-input-guard.js';
import { iceGatheringComplete } from './ice-gathering.js';
import { WeriftUpstream } from './werift-upstream.js';
import {
  SdpError,
  type ConnectionState,
  type PublisherVideoCodec,
  type Sfu,
  type SfuPublisher,
  type SfuPublisherEvents,
  type SfuSubscriber,
  type SfuSubscriberEvents,
  type SfuUpstream,
} from './sfu.js';

export interface WeriftSfuOptions {
  /** Host addresses offered as ICE candidates; werift skips loopback unless it is listed here. */
  iceHosts: string[];
  /** [min, max] UDP ports, or undefined for any. */
  portRange?: [number, number];
  /** The most the publisher may send, announced with REMB and x-google-max-bitrate (kbit/s). */
  maxPublishKbps: number;
  log: Logger;
}

const REMB_INTERVAL_MS = 1000;
const videoFeedback = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }];

function h264Codec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90000,
    rtcpFeedback: videoFeedback,
    parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  });
}

function vp8Codec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: videoFeedback });
}

function opusCodec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, rtcpFeedback: [{ type: 'nack' }] });
}

function fmtpValue(parameters: string | undefined, name: string): string | undefined {
  for (const part of (parameters ?? '').split(';')) {
    const [key, value] = part.split('=');
    if (key?.trim() === name) return value?.trim();
  }
  return undefined;
}

function codecName(codec: RTCRtpCodecParameters): PublisherVideoCodec | undefined {
  const mime = codec.mimeType.toLowerCase();
  if (mime === 'video/vp8') return 'VP8';
  if (mime === 'video/h264' && fmtpValue(codec.parameters, 'packetization-mode') === '1') return 'H264';
  return undefined;
}

/** REMB carries the bitrate as an 18-bit mantissa and a 6-bit exponent. */
function rembPacket(bitrate: number, mediaSsrc: number): RtcpPayloadSpecificFeedback {
  let exponent = 0;
  let mantissa = Math.max(0, Math.floor(bitrate));
  while (mantissa > 0x3ffff) {
    mantissa >>= 1;
    exponent++;
  }
  const feedback = new ReceiverEstimatedMaxBitrate({
    senderSsrc: 1,
    mediaSsrc: 0,
    brExp: exponent,
    brMantissa: mantissa,
    bitrate: BigInt(mantissa) << BigInt(exponent),
    ssrcNum: 1,
    ssrcFeedbacks: [mediaSsrc],
  });
  return new RtcpPayloadSpecificFeedback({ feedback });
}

async function answerOffer(pc: RTCPeerConnection, offerSdp: string, beforeAnswer: () => void): Promise<string> {
  try {
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  } catch (error) {
    throw new SdpError(`the SDP offer could not be applied: ${error instanceof Error ? error.message : String(error)}`);
  }
  const dtlsRole = answerDtlsRole(offerSdp);
  for (const transport of pc.dtlsTransports) transport.role = dtlsRole;
  beforeAnswer();
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  await iceGatheringComplete(pc);
  guardDtlsInput(pc);
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new SdpError('no local description was produced');
  return sdp;
}

/** Rejects obviously non-SDP bodies before werift's parser sees them. */
function assertLooksLikeSdp(offerSdp: string): void {
  if (!offerSdp.startsWith('v=0')) throw new SdpError('the body is not an SDP offer (it must start with "v=0")');
  if (!/^m=(audio|video) /m.test(offerSdp)) throw new SdpError('the SDP offer has no audio or video m-line');
}

class WeriftPublisher extends TypedEmitter<SfuPublisherEvents> implements SfuPublisher {
  readonly id = randomUUID();
  hasAudio = false;
  private isClosed = false;
  private videoReceiver: RTCRtpTransceiver['receiver'] | undefined;
  private videoSsrc: number | undefined;
  private readonly rembTimer: NodeJS.Timeout;
  private estimateBps: number;
  private lastSequence: number | undefined;
  private packetsThisSecond = 0;
  private lostThisSecond = 0;

  readonly pc: RTCPeerConnection;
  private readonly maxBps: number;
  private readonly log: Logger;

  constructor(options: { pc: RTCPeerConnection; maxBps: number; log: Logger }) {
    super();
    const { pc } = options;
    ({ pc: this.pc, maxBps: this.maxBps, log: this.log } = options);
    this.estimateBps = this.maxBps;
    this.rembTimer = setInterval(() => this.sendRemb(), REMB_INTERVAL_MS);
    pc.connectionStateChange.subscribe((state) => this.safeEmit('connection-state', state as ConnectionState));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Called with the negotiated transceivers once the remote offer is applied. */
  wireTransceiver(transceiver: RTCRtpTransceiver): void {
    if (transceiver.kind === 'audio') {
      this.hasAudio = true;
      // The receiver's track already exists: werift announces it during setRemoteDescription, before this runs.
      transceiver.receiver.track.onReceiveRtp.subscribe((rtp) => {
        if (!this.isClosed) this.safeEmit('audio', rtp.serialize(), performance.timeOrigin + performance.now());
      });
      return;
    }
    const codecsByPayloadType = new Map<number, PublisherVideoCodec>();
    for (const codec of transceiver.codecs) {
      const name = codecName(codec);
      if (name && codec.payloadType !== undefined) codecsByPayloadType.set(codec.payloadType, name);
    }
    this.videoReceiver = transceiver.receiver;
    {
      transceiver.receiver.track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
        if (this.isClosed) return;
        const codec = codecsByPayloadType.get(rtp.header.payloadType);
        if (!codec) return;
        this.videoSsrc = rtp.header.ssrc;
        this.countLoss(rtp.header.sequenceNumber);
        this.safeEmit(
          'video',
          {
            sequenceNumber: rtp.header.sequenceNumber,
            timestamp: rtp.header.timestamp,
            marker: rtp.header.marker,
            payload: rtp.payload,
            codec,
            serialize: () => rtp.serialize(),
          },
          performance.timeOrigin + performance.now(),
        );
      });
    }
  }

  requestKeyframe(): void {
    if (this.isClosed || this.videoSsrc === undefined || !this.videoReceiver) return;
    void this.videoReceiver.sendRtcpPLI(this.videoSsrc);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.rembTimer);
    this.removeAllListeners();
    await this.pc.close().catch((error: unknown) => this.log.debug({ err: error }, 'publisher close failed'));
  }

  private countLoss(sequenceNumber: number): void {
    if (this.lastSequence !== undefined) {
      const gap = (sequenceNumber - this.lastSequence + 0x10000) & 0xffff;
      if (gap > 1 && gap < 1000) this.lostThisSecond += gap - 1;
      if (gap === 0 || gap >= 0x8000) return;
    }
    this.lastSequence = sequenceNumber;
    this.packetsThisSecond++;
  }

  /** A loss-based estimate: back off in proportion to loss above 2 %, else grow 8 % a second up to the cap. */
  private sendRemb(): void {
    if (this.videoSsrc === undefined || !this.videoReceiver) return;
    const expected = this.packetsThisSecond + this.lostThisSecond;
    const loss = expected > 0 ? this.lostThisSecond / expected : 0;
    if (loss > 0.02) this.estimateBps = Math.max(150_000, this.estimateBps * (1 - 0.5 * loss));
    else this.estimateBps = Math.min(this.maxBps, this.estimateBps * 1.08);
    this.packetsThisSecond = 0;
    this.lostThisSecond = 0;
    void this.videoReceiver.dtlsTransport.sendRtcp([rembPacket(this.estimateBps, this.videoSsrc)]).catch(() => {});
  }
}

class WeriftSubscriber extends TypedEmitter<SfuSubscriberEvents> implements SfuSubscriber {
  readonly id = randomUUID();
  private isClosed = false;

  private readonly pc: RTCPeerConnection;
  private readonly videoTrack: MediaStreamTrack;
  private readonly audioTrack: MediaStreamTrack;
  private readonly log: Logger;

  constructor(options: { pc: RTCPeerConnection; videoTrack: MediaStreamTrack; audioTrack: MediaStreamTrack; log: Logger }) {
    super();
    const { pc } = options;
    ({ pc: this.pc, videoTrack: this.videoTrack, audioTrack: this.audioTrack, log: this.log } = options);
    pc.connectionStateChange.subscribe((state) => this.safeEmit('connection-state', state as ConnectionState));
    pc.iceConnectionStateChange.subscribe((state) => state === 'connected' && this.safeEmit('ice-connected'));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  onPictureLoss(): void {
    this.safeEmit('keyframe-request');
  }

  sendVideo(packet: Buffer): void {
    if (!this.isClosed) this.videoTrack.writeRtp(packet);
  }

  sendAudio(packet: Buffer): void {
    if (!this.isClosed) this.audioTrack.writeRtp(packet);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.removeAllListeners();
    this.videoTrack.stop();
    this.audioTrack.stop();
    await this.pc.close().catch((error: unknown) => this.log.debug({ err: error }, 'subscriber close failed'));
  }
}

/** The embedded SFU: one werift PeerConnection per publisher and per viewer. */
export class WeriftSfu implements Sfu {
  private readonly connections = new Set<{ close(): Promise<void> }>();

  constructor(private readonly options: WeriftSfuOptions) {}

  private peerConnection(video: RTCRtpCodecParameters[]): RTCPeerConnection {
    return new RTCPeerConnection({
      iceServers: [],
      iceAdditionalHostAddresses: this.options.iceHosts,
      ...(this.options.portRange ? { icePortRange: this.options.portRange } : {}),
      codecs: { video, audio: [opusCodec()] },
      headerExtensions: { video: [], audio: [] },
    });
  }

  async createPublisher(offerSdp: string): Promise<{ publisher: SfuPublisher; answerSdp: string }> {
    assertLooksLikeSdp(offerSdp);
    const pc = this.peerConnection([h264Codec(), vp8Codec()]);
    const publisher = new WeriftPublisher({ pc, maxBps: this.options.maxPublishKbps * 1000, log: this.options.log });
    try {
      const answerSdp = await answerOffer(pc, offerSdp, () => {
        for (const transceiver of pc.getTransceivers()) {
          if (transceiver.kind === 'video') this.preferPublisherCodecs(transceiver);
          publisher.wireTransceiver(transceiver);
        }
      });
      this.track(publisher);
      return { publisher, answerSdp };
    } catch (error) {
      await publisher.close();
      throw error;
    }
  }

  async createSubscriber(offerSdp: string, videoCodec: PublisherVideoCodec = 'H264'): Promise<{ subscriber: SfuSubscriber; answerSdp: string }> {
    assertLooksLikeSdp(offerSdp);
    const rtpmap = videoCodec === 'H264' ? /^a=rtpmap:\d+ H264\/90000/im : /^a=rtpmap:\d+ VP8\/90000/im;
    if (!rtpmap.test(offerSdp)) throw new SdpError(`the viewer offer has no ${videoCodec} video, which this stream is sent as`);
    const pc = this.peerConnection([videoCodec === 'H264' ? h264Codec() : vp8Codec()]);
    const videoTrack = new MediaStreamTrack({ kind: 'video' });
    const audioTrack = new MediaStreamTrack({ kind: 'audio' });
    const video = pc.addTransceiver(videoTrack, { direction: 'sendonly' });
    // An audio transceiver the offer does not ask for would get a transport of its own that never connects.
    if (/^m=audio /m.test(offerSdp)) pc.addTransceiver(audioTrack, { direction: 'sendonly' });
    const subscriber = new WeriftSubscriber({ pc, videoTrack, audioTrack, log: this.options.log });
    video.sender.onPictureLossIndication.subscribe(() => subscriber.onPictureLoss());
    try {
      const answerSdp = await answerOffer(pc, offerSdp, () => {
        // Packetization mode 1 first, constrained baseline preferred: that is what the encoder produces.
        video.codecs = video.codecs
          .filter((codec) => codecName(codec) === videoCodec)
          .sort((a, b) => Number(fmtpValue(b.parameters, 'profile-level-id') === '42e01f') - Number(fmtpValue(a.parameters, 'profile-level-id') === '42e01f'));
        if (video.codecs.length === 0) throw new SdpError(`the viewer offer has no usable ${videoCodec} (H.264 needs packetization-mode=1)`);
        for (const codec of video.codecs) codec.rtcpFeedback = codec.rtcpFeedback.filter((feedback) => feedback.type !== 'transport-cc');
      });
      this.track(subscriber);
      return { subscriber, answerSdp };
    } catch (error) {
      await subscriber.close();
      throw error;
    }
  }

  createUpstream(): SfuUpstream {
    const upstream = new WeriftUpstream({ pc: this.peerConnection([h264Codec()]), log: this.options.log });
    this.track(upstream);
    return upstream;
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections].map((connection) => connection.close()));
    this.connections.clear();
  }

  private track(connection: { close(): Promise<void> }): void {
    this.connections.add(connection);
    const close = connection.close.bind(connection);
    connection.close = async () => {
      this.connections.delete(connection);
      await close();
    };
  }

  /** H.264 first (it is cheaper to decode than VP8), ask for the bitrate we can take, no transport-cc. */
  private preferPublisherCodecs(transceiver: RTCRtpTransceiver): void {
    const usable = transceiver.codecs.filter((codec) => codecName(codec) !== undefined);
    if (usable.length === 0) throw new SdpError('the publisher offer has no H.264 (packetization-mode=1) or VP8 video');
    usable.sort((a, b) => Number(codecName(b) === 'H264') - Number(codecName(a) === 'H264'));
    const maxKbps = this.options.maxPublishKbps;
    for (const codec of usable) {
      codec.rtcpFeedback = codec.rtcpFeedback.filter((feedback) => feedback.type !== 'transport-cc');
      const bitrates = `x-google-min-bitrate=${Math.round(maxKbps * 0.6)};x-google-start-bitrate=${Math.round(maxKbps * 0.8)};x-google-max-bitrate=${maxKbps}`;
      codec.parameters = codec.parameters ? `${codec.parameters};${bitrates}` : bitrates;
    }
    transceiver.codecs = usable;
  }
}
