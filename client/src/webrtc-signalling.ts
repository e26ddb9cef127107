import { authHeaders } from './page-token.js';

const SIGNALLING_ERROR = Symbol.for('livefx.SignallingError');

/** An error from WHIP/WHEP signalling, with the HTTP status and the server's message. */
export class SignallingError extends Error {
  readonly [SIGNALLING_ERROR] = true;

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** `instanceof` holds across copies of this class: the watch page's inline early script (a bundle of its own) carries one. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && SIGNALLING_ERROR in value;
  }
}

/** After the first candidate, how long the rest may take: the UDP host candidates of every interface come together; TCP ones (which the server does not use) come ~150 ms later. */
const GATHERING_GRACE_MS = 50;
/** Sent with what is there by then when no candidate comes at all (the limit non-trickle signalling always had). */
const GATHERING_CAP_MS = 2000;

/**
 * How long the offer waits for ICE candidates: `first` (a viewer, who wants the picture soon) until
 * the first candidates have had a short grace; `complete` (a publisher, who goes live once) until
 * gathering completes. Either way no longer than GATHERING_CAP_MS.
 */
export type CandidateGathering = 'first' | 'complete';

/** Waits until gathering completes, or (`first`) until the first candidates have had a short grace, whichever is sooner. */
async function iceCandidatesGathered(pc: RTCPeerConnection, gathering: CandidateGathering): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const done = (): void => {
      clearTimeout(capTimer);
      clearTimeout(graceTimer);
      pc.removeEventListener('icegatheringstatechange', onState);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const capTimer = setTimeout(done, GATHERING_CAP_MS);
    const onState = (): void => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const onCandidate = (event: RTCPeerConnectionIceEvent): void => {
      if (gathering === 'first' && event.candidate && graceTimer === undefined) graceTimer = setTimeout(done, GATHERING_GRACE_MS);
    };
    pc.addEventListener('icegatheringstatechange', onState);
    pc.addEventListener('icecandidate', onCandidate);
  });
}

/** Told when the offer leaves and when the answer is applied (a viewer's join timings). */
export interface NegotiationProgress {
  onOfferSent(): void;
  onAnswered(): void;
}

/** Non-trickle WHIP/WHEP: the offer with the candidates gathered (see CandidateGathering), answer back; returns the session URL for DELETE. */
export async function negotiate(pc: RTCPeerConnection, endpoint: string, bearer?: string, progress?: NegotiationProgress, gathering: CandidateGathering = 'complete'): Promise<string> {
  await pc.setLocalDescription(await pc.createOffer());
  await iceCandidatesGathered(pc, gathering);
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
