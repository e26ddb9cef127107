import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';

/**
 * A page in a browser context of its own (its own storage: its own viewer id, remembered name and
 * sign-in), opened at `baseUrl + url`; its uncaught errors are collected into `pageErrors`.
 */
export async function openIsolatedPage(
  browser: Browser,
  baseUrl: string,
  url: string,
  pageErrors: string[],
  options: { viewport?: { width: number; height: number }; beforeLoad?: (page: Page) => unknown } = {},
): Promise<Page> {
  const context = await browser.newContext(options.viewport ? { viewport: options.viewport } : {});
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${url}: ${error.message}`));
  // Awaited: an init script registered after the navigation began would miss the first document.
  await options.beforeLoad?.(page);
  await page.goto(`${baseUrl}${url}`);
  return page;
}

/** Joins the page's chat with a display name. */
export async function joinChat(page: Page, name: string): Promise<void> {
  await page.getByTestId('chat-name').fill(name);
  await page.getByTestId('chat-join').click();
  await expect.poll(() => page.getByTestId('chat-input').isVisible(), { timeout: 5000 }).toBe(true);
}

/** Opens the publish page at `url` (a whole URL, source chosen by its query), presses Go live and waits until the page says live. */
export async function goLive(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId('go-live').click();
  try {
    await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 15_000 }).toBe('live');
  } catch (error) {
    // What the page said instead (a refused key, an unreachable server) beside the state it stayed in.
    const shown = await page.getByTestId('error').textContent().catch(() => null);
    const connection = await publisherConnection(page).catch((reason: unknown) => `unreadable (${String(reason)})`);
    throw new Error(`the publish page did not go live: ${error instanceof Error ? error.message : String(error)}; its error line: "${shown ?? ''}"; its connection: ${connection}`, { cause: error });
  }
}

/** The publish page's WebRTC connection as JSON: its states, candidates in the offer and answer, and what its video sender has sent. */
function publisherConnection(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { livefxPublisher?: { pc?: RTCPeerConnection } }).livefxPublisher?.pc;
    if (!pc) return 'none';
    const candidates = (sdp: string | undefined): number => (sdp ?? '').split('\n').filter((line) => line.startsWith('a=candidate')).length;
    const sent: Record<string, unknown>[] = [];
    (await pc.getStats()).forEach((entry: RTCStats & Record<string, unknown>) => {
      if (entry.type === 'outbound-rtp' || entry.type === 'candidate-pair') sent.push({ type: entry.type, kind: entry.kind, state: entry.state, bytesSent: entry.bytesSent, framesEncoded: entry.framesEncoded, packetsSent: entry.packetsSent });
    });
    return JSON.stringify({
      connection: pc.connectionState,
      ice: pc.iceConnectionState,
      gathering: pc.iceGatheringState,
      signaling: pc.signalingState,
      offerCandidates: candidates(pc.localDescription?.sdp),
      answerCandidates: candidates(pc.remoteDescription?.sdp),
      sent,
    });
  });
}

/** A new page of `browser` that goes live at `url` (as goLive does); its uncaught errors are collected into `pageErrors` as the publisher's. */
export async function goLiveInNewPage(browser: Browser, url: string, pageErrors: string[]): Promise<Page> {
  const publisher = await browser.newPage();
  publisher.on('pageerror', (error) => pageErrors.push(`publisher: ${error.message}`));
  await goLive(publisher, url);
  return publisher;
}

/** Test ids of a job's status text, progress bar and, where the page shows one, its stage. */
export interface JobStatusIds {
  status: string;
  progress: string;
  stage?: string;
}

/**
 * An init script (`page.addInitScript(recordJobStatuses, ids)`): every distinct "status @ progress (stage)"
 * the page shows goes into `window.seenStatuses`, from its first paint on. It runs in the page, so it uses nothing from here.
 */
export function recordJobStatuses(ids: JobStatusIds): void {
  const seen: string[] = [];
  (window as unknown as { seenStatuses: string[] }).seenStatuses = seen;
  const text = (id: string | undefined): string | null | undefined => (id === undefined ? undefined : document.querySelector(`[data-testid="${id}"]`)?.textContent);
  new MutationObserver(() => {
    const status = text(ids.status);
    const bar = document.querySelector<HTMLProgressElement>(`[data-testid="${ids.progress}"]`);
    const stage = text(ids.stage);
    const entry = `${status} @ ${bar?.value}${stage ? ` (${stage})` : ''}`;
    if (status && seen[seen.length - 1] !== entry) seen.push(entry);
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

/** Where a played video got: its position, ready state, picture size and error ("code message"), if any. */
export interface PlayedVideo {
  currentTime: number;
  readyState: number;
  width: number;
  height: number;
  error: string | null;
}

/** Plays the page's video at `selector` (muted) until it is `seconds` in or `timeoutMs` passed, pauses it and reports where it got. */
export function playVideoInPage(page: Page, selector: string, seconds: number, timeoutMs: number): Promise<PlayedVideo> {
  return page.evaluate(async ({ selector, seconds, timeoutMs }) => {
    const video = document.querySelector<HTMLVideoElement>(selector)!;
    video.muted = true;
    await video.play();
    const started = Date.now();
    while (video.currentTime < seconds && Date.now() - started < timeoutMs) await new Promise((resolve) => setTimeout(resolve, 100));
    video.pause();
    return { currentTime: video.currentTime, readyState: video.readyState, width: video.videoWidth, height: video.videoHeight, error: video.error ? `${video.error.code} ${video.error.message}` : null };
  }, { selector, seconds, timeoutMs });
}
