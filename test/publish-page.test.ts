import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { createStream, startServer, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ LIVEFX_MEDIA_TIMEOUT_S: '3' });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  const code = await server.stop('SIGTERM');
  expect(code, server.output()).toBe(0);
});

/** A promise with its resolve, to order what the page and the server do. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('publish page', () => {
  it('keeps publishing when Go live is pressed before its live socket has connected (the preview does not stop the media being sent)', async () => {
    const stream = await createStream(server.url, 'quick click');
    const page = await browser.newPage();
    const clicked = signal();
    const subscribed = signal();
    // The page's socket.io connection (a loaded server answering late) opens only after the click; the subscribe's answer is noted.
    await page.routeWebSocket(/\/socket\.io\//, async (ws) => {
      await clicked.promise;
      const upstream = ws.connectToServer();
      upstream.onMessage((message) => {
        ws.send(message);
        if (typeof message === 'string' && message.startsWith('43/live,')) subscribed.resolve();
      });
    });
    // The WHIP answer comes after the socket has subscribed, so the page's media has been sent nowhere yet when it does.
    await page.route(/\/whip\//, async (route) => {
      if (route.request().method() === 'POST') {
        await subscribed.promise;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      await route.continue();
    });
    await page.goto(`${server.url}${stream.urls.publish}&source=pattern`);
    await page.getByTestId('go-live').click();
    clicked.resolve();

    await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 20_000 }).toBe('live');
    type Sending = { tracks: string[]; framesEncoded: number };
    const sending = (): Promise<Sending> =>
      page.evaluate(async () => {
        const pc = (window as unknown as { livefxPublisher: { pc: RTCPeerConnection } }).livefxPublisher.pc;
        let framesEncoded = 0;
        (await pc.getStats()).forEach((entry: RTCStats & { kind?: string; framesEncoded?: number }) => {
          if (entry.type === 'outbound-rtp' && entry.kind === 'video') framesEncoded = entry.framesEncoded ?? 0;
        });
        return { tracks: pc.getSenders().map((sender) => `${sender.track?.kind}:${sender.track?.readyState}`), framesEncoded };
      });
    const first = await sending();
    expect(first.tracks).toEqual(['video:live', 'audio:live']);
    // The media goes on (a stopped track sends nothing, and the stream would end after LIVEFX_MEDIA_TIMEOUT_S): a second of frames more.
    await expect.poll(async () => (await sending()).framesEncoded, { timeout: 20_000 }).toBeGreaterThan(first.framesEncoded + 30);
    expect((await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()).state).toBe('live');
    expect((await sending()).tracks).toEqual(['video:live', 'audio:live']);
    await page.close();
  }, 90_000);
});
