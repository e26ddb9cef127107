import { queryParam } from './page-elements.js';
import { WhepSession } from './whep-session.js';

declare global {
  interface Window {
    /** The session the page's inline early script started (a separate bundle: it hands over through the window). */
    livefxEarlyWhep?: { streamId: string; session: WhepSession };
  }
}

/**
 * Starts the page's WHEP session before any of the page's scripts has been fetched: the watch and
 * embed pages run this (dist/web/watch-early.js) inline in their head, so gathering and the server's
 * answer overlap with the rest of the page loading. Nothing starts for an HLS-only page (`&mode=hls`)
 * or one without `?stream=`.
 */
export function startEarlyWhep(): void {
  const streamId = queryParam('stream');
  if (window.livefxEarlyWhep || !streamId || queryParam('mode') === 'hls' || typeof RTCPeerConnection === 'undefined') return;
  window.livefxEarlyWhep = { streamId, session: new WhepSession(streamId) };
}

/** The session started early for this stream, once (a later connection, after a fallback, is a new one). */
export function takeEarlyWhep(streamId: string): WhepSession | undefined {
  const early = window.livefxEarlyWhep;
  if (early?.streamId !== streamId) return undefined;
  delete window.livefxEarlyWhep;
  return early.session;
}
