import { authHeaders } from './page-token.js';

/** An error from WHIP/WHEP signalling, with the HTTP status and the server's message. */
export class SignallingError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function iceGatheringComplete(pc: RTCPeerConnection, timeoutMs = 2000): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Told when the offer leaves and when the answer is applied (a viewer's join timings). */
export interface NegotiationProgress {
  onOfferSent(): void;
  onAnswered(): void;
}

/** Non-trickle WHIP/WHEP: full offer after gathering, answer back; returns the session URL for DELETE. */
export async function negotiate(pc: RTCPeerConnection, endpoint: string, bearer?: string, progress?: NegotiationProgress): Promise<string> {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringComplete(pc);
  progress?.onOfferSent();
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: pc.localDescription!.sdp,
  });
  if (response.status !== 201) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = ((await response.json()) as { error: { message: string } }).error.message;
    } catch {
      // not a JSON error body: keep the status line
    }
    throw new SignallingError(response.status, message);
  }
  const location = response.headers.get('location') ?? endpoint;
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  progress?.onAnswered();
  return new URL(location, location.startsWith('http') ? undefined : window.location.origin).toString();
}

export function endSession(sessionUrl: string | undefined): void {
  if (sessionUrl) void fetch(sessionUrl, { method: 'DELETE', keepalive: true, headers: authHeaders() }).catch(() => undefined);
}
