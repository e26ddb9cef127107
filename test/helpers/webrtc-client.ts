import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { iceGatheringComplete } from '../../server/sfu/ice-gathering.js';

export function clientPeerConnection(video: RTCRtpCodecParameters[]): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    codecs: { video, audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })] },
    headerExtensions: { video: [], audio: [] },
  });
}

export function h264ClientCodec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90000,
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
    parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  });
}

/** Rewrites the SDP on its way (e.g. to put a network relay between the peers); identity by default. */
export interface SdpRewrite {
  offer?(sdp: string): string;
  answer?(sdp: string): string;
}

/** Creates the offer, waits for ICE gathering (non-trickle), POSTs it, applies the answer; returns the session URL. */
export async function negotiate(pc: RTCPeerConnection, endpoint: string, headers: Record<string, string> = {}, rewrite: SdpRewrite = {}): Promise<string> {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringComplete(pc);
  const offer = pc.localDescription!.sdp;
  const body = rewrite.offer ? rewrite.offer(offer) : offer;
  let response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body, redirect: 'manual' });
  // A redirect to the stream's owner (RFC 9725 §4.5) is followed here, as a WHIP/WHEP client must: the offer again, and
  // Authorization only to the same origin (as browsers and fetch do; the redirect URL carries its own signed token).
  for (let hops = 0; (response.status === 307 || response.status === 308) && hops < 3; hops++) {
    const target = new URL(response.headers.get('location') ?? '', endpoint);
    const sameOrigin = target.origin === new URL(endpoint).origin;
    const kept = Object.fromEntries(Object.entries(headers).filter(([name]) => sameOrigin || name.toLowerCase() !== 'authorization'));
    endpoint = target.toString();
    response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/sdp', ...kept }, body, redirect: 'manual' });
  }
  if (response.status !== 201) {
    throw new SignallingError(response.status, `${endpoint} answered ${response.status}: ${await response.text()}`);
  }
  const location = response.headers.get('location');
  const answer = await response.text();
  await pc.setRemoteDescription({ type: 'answer', sdp: rewrite.answer ? rewrite.answer(answer) : answer });
  if (!location) throw new SignallingError(response.status, `${endpoint} sent no Location header`);
  return new URL(location, endpoint).toString();
}

export class SignallingError extends Error {
  override readonly name = 'SignallingError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
