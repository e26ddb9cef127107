import type { Browser } from 'playwright-core';

/** The watch page's join steps, ms since navigation (client/src/join-timings.ts). */
export interface WatchPageJoin {
  /** The page's HTML fully received (navigation timing's responseEnd). */
  htmlReceived?: number;
  scriptReady?: number;
  socketReady?: number;
  offerSent?: number;
  answered?: number;
  firstFrame: number;
}

/**
 * Opens the watch page at `url` in a fresh browser context (empty cache, like a first visit; `withoutEarlyStart`:
 * its inline early WHEP start kept from running, for a comparison in the same run), waits
 * for its first presented frame and returns the page's own join timings (and when its HTML arrived); then closes the context and
 * pauses a random moment so the next load lands at another phase of the keyframe interval.
 */
export async function timeWatchPageJoin(browser: Browser, url: string, options: { withoutEarlyStart?: boolean } = {}): Promise<WatchPageJoin> {
  const context = await browser.newContext();
  try {
    // A slot already taken keeps the inline head script from starting a session; the player, finding none for its stream, makes its own.
    if (options.withoutEarlyStart) await context.addInitScript(() => Object.assign(window, { livefxEarlyWhep: { streamId: '' } }));
    const page = await context.newPage();
    await page.goto(url);
    const handle = await page.waitForFunction(
      () => {
        const joinMs = (window as unknown as { livefxViewer?: { joinMs: Partial<WatchPageJoin> } }).livefxViewer?.joinMs;
        if (joinMs?.firstFrame === undefined) return undefined;
        const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
        return { ...(navigation ? { htmlReceived: Math.round(navigation.responseEnd) } : {}), ...joinMs } as WatchPageJoin;
      },
      null,
      { timeout: 15_000, polling: 20 },
    );
    return (await handle.jsonValue())!;
  } finally {
    await context.close();
    await new Promise((resolve) => setTimeout(resolve, 137 + Math.random() * 400));
  }
}
