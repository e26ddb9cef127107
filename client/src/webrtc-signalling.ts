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

/** Sent with what is there by then when gathering does not complete (the limit non-trickle signalling always had). */
const GATHERING_CAP_MS = 2000;

/**
 * How long the offer waits for ICE candidates: `none` (a viewer, who wants the picture soon) not at
 * all: the server's answer carries its candidates, the browser's checks reach them, and the server
 * learns the browser's address from those checks (peer-reflexive), as with any ICE-lite WHEP server
 * (Chromium took 100–300 ms to gather its first candidate); `complete` (a publisher, who goes live
 * once) until gathering completes, at most GATHERING_CAP_MS.
 */
export type CandidateGathering = 'none' | 'complete';

/** Waits until gathering completes (`complete`) or not at all (`none`). */
async function iceCandidatesGathered(pc: RTCPeerConnection, gathering: CandidateGathering): Promise<void> {
  if (gathering === 'none' || pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(capTimer);
      pc.removeEventListener('icegatheringstatechange', onState);
      resolve();
    };
    const capTimer = setTimeout(done, GATHERING_CAP_MS);
    const onState = (): void => {
      if (pc.iceGatheringState === 'complete') done();
    };
    pc.addEventListener('icegatheringstatechange', onState);
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
