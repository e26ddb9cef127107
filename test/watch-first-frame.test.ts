import { createHash } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAfterTests, startServerAndChromium } from './helpers/test-lifecycle.js';
import { WhipClient } from './helpers/whip-client.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, waitFor, type CreatedStream, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';

interface ViewerProbe {
  joinMs: { scriptReady?: number; socketReady?: number; offerSent?: number; answered?: number; firstFrame?: number };
  mode: string;
  state: string;
  framesRendered: number;
}

let server: RunningServer;
let browser: Browser;
let stream: CreatedStream;
let publisher: WhipClient;

beforeAll(async () => {
  ({ server, browser } = await startServerAndChromium());
  stream = await createStream(server.url, 'first frame');
  publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 640, height: 360, fps: 30, kbps: 800 });
  await publisher.start();
  const fpsOut = async (): Promise<number> => ((await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { fpsOut: number } }).stats.fpsOut;
  await waitFor('the processed stream to be encoded', async () => ((await fpsOut()) > 0 ? true : undefined), 30_000);
});

afterAll(async () => {
  await publisher?.stop();
  await closeAfterTests({ server, browser });
});

const probeScript = (): ViewerProbe => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer;

describe('watch page: first frame', () => {
  it('shows the WebRTC picture while its live socket has not connected: the WHEP offer does not wait for the socket', async () => {
    const context = await browser.newContext();
    try {
      // Every socket.io connection of this page is held open and never answered (a slow or blocked socket).
      const heldSockets: unknown[] = [];
      await context.routeWebSocket(/\/socket\.io\//, (socket) => void heldSockets.push(socket));
      const page = await context.newPage();
      await page.goto(`${server.url}/watch?stream=${stream.id}`);
      await page.waitForFunction(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer.joinMs.firstFrame !== undefined, null, { timeout: 30_000 });
      const viewer = await page.evaluate(probeScript);
      expect(heldSockets.length).toBeGreaterThan(0);
      expect(viewer.joinMs.socketReady).toBeUndefined();
      expect(viewer.mode).toBe('webrtc');
      expect(viewer.joinMs.offerSent).toBeLessThan(viewer.joinMs.firstFrame!);
      expect(await page.getByTestId('player').evaluate((video: HTMLVideoElement) => video.videoWidth)).toBe(640);
    } finally {
      await context.close();
    }
  });

  it('a WebRTC viewer plays with its socket and never downloads hls.js; its chat connects after the first frame', async () => {
    const context = await browser.newContext();
    try {
      // When the chat's name field first became usable (ms since navigation), checked every 5 ms from the first moment.
      await context.addInitScript(() => {
        const poll = setInterval(() => {
          const name = document.querySelector<HTMLInputElement>('[data-testid="chat-name"]');
          if (!name || name.disabled) return;
          (window as unknown as { chatUsableAt?: number }).chatUsableAt = performance.now();
          clearInterval(poll);
        }, 5);
      });
      const page = await context.newPage();
      const requested: string[] = [];
      page.on('request', (request) => requested.push(new URL(request.url()).pathname));
      await page.goto(`${server.url}/watch?stream=${stream.id}`);
      // Frames counted by the burn-in reader (it starts once the socket gives the server clock) keep coming.
      await page.waitForFunction(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer.framesRendered >= 30, null, { timeout: 30_000 });
      const viewer = await page.evaluate(probeScript);
      expect(viewer.mode).toBe('webrtc');
      expect(viewer.state).toBe('live');
      expect(viewer.joinMs.socketReady).toBeDefined();
      expect(requested).toContain('/socket.io/socket.io.js');
      expect(requested).not.toContain('/vendor/hls.min.js');
      // The chat connects once the picture shows: its controls are usable only after the first frame.
      const chatUsableAt = await page.waitForFunction(() => (window as unknown as { chatUsableAt?: number }).chatUsableAt, null, { timeout: 30_000 });
      expect(await chatUsableAt.jsonValue()).toBeGreaterThanOrEqual(viewer.joinMs.firstFrame!);
    } finally {
      await context.close();
    }
  });
  it('loads (its load event comes) when its WebRTC answer arrives before load and nobody publishes yet, and plays once someone does', async () => {
    const idle = await createStream(server.url, 'not live yet');
    const context = await browser.newContext();
    let late: WhipClient | undefined;
    try {
      const page = await context.newPage();
      // The socket.io client script (which the load event waits for) is held until the page has its WHEP answer, so the answer comes first.
      await page.route(/\/socket\.io\/socket\.io\.js$/, async (route) => {
        try {
          await waitFor('the WHEP answer', () => page.evaluate(() => (window as unknown as { livefxViewer?: ViewerProbe }).livefxViewer?.joinMs.answered), 20_000);
        } finally {
          await route.continue();
        }
      });
      // Chromium holds the load event while a <video> shows a stream with no frame: with the stream attached at once, this never returned.
      await page.goto(`${server.url}/watch?stream=${idle.id}`, { timeout: 20_000 });
      const loadedAt = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventStart);
      const before = await page.evaluate(probeScript);
      expect(before.joinMs.answered).toBeLessThan(loadedAt);
      expect(before.joinMs.firstFrame).toBeUndefined();
      late = new WhipClient({ endpoint: `${server.url}/whip/${idle.id}`, streamKey: idle.streamKey, width: 640, height: 360, fps: 30, kbps: 800 });
      await late.start();
      await page.waitForFunction(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer.joinMs.firstFrame !== undefined, null, { timeout: 30_000 });
      const after = await page.evaluate(probeScript);
      expect(after.mode).toBe('webrtc');
      expect(await page.getByTestId('player').evaluate((video: HTMLVideoElement) => video.videoWidth)).toBe(640);
    } finally {
      await late?.stop();
      await context.close();
    }
  });
  it('sends its WHEP offer from the page head before its own scripts have loaded, under a CSP that allows that one inline script', async () => {
    const response = await fetch(`${server.url}/watch?stream=${stream.id}`);
    const html = await response.text();
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]!);
    expect(inline).toHaveLength(1);
    const hash = createHash('sha256').update(inline[0]!).digest('base64');
    expect(response.headers.get('content-security-policy')).toContain(`script-src 'self' 'sha256-${hash}'`);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (message) => /Content Security Policy/i.test(message.text()) && violations.push(message.text()));
      let offerWhileHeld = false;
      let moduleHeld = false;
      const offerSeen = new Promise<void>((resolve) => page.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === `/whep/${stream.id}`) {
          offerWhileHeld = moduleHeld;
          resolve();
        }
      }));
      // The page's own module is held until the offer has gone out (or 20 s pass): only the inline head script can send it.
      await page.route(/\/assets\/pages\/watch-page\.js$/, async (route) => {
        moduleHeld = true;
        await Promise.race([offerSeen, new Promise((resolve) => setTimeout(resolve, 20_000))]);
        moduleHeld = false;
        await route.continue();
      });
      await page.goto(`${server.url}/watch?stream=${stream.id}`);
      await page.waitForFunction(() => (window as unknown as { livefxViewer?: ViewerProbe }).livefxViewer?.joinMs.firstFrame !== undefined, null, { timeout: 40_000 });
      const viewer = await page.evaluate(probeScript);
      expect(offerWhileHeld).toBe(true);
      expect(viewer.joinMs.offerSent).toBeLessThan(viewer.joinMs.scriptReady!);
      expect(viewer.mode).toBe('webrtc');
      expect(await page.getByTestId('player').evaluate((video: HTMLVideoElement) => video.videoWidth)).toBe(640);
      expect(violations).toEqual([]);
    } finally {
      await context.close();
    }
  });
  it('sends its offer without waiting for ICE candidates and is answered as the DTLS client; the picture still comes', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const exchange = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().includes('/whep/'));
      await page.goto(`${server.url}/watch?stream=${stream.id}`);
      const response = await exchange;
      // Candidates take Chromium 100–300 ms to gather: the server learns the browser's address from its checks instead.
      expect(response.request().postData()).not.toMatch(/^a=candidate:/m);
      expect(response.status()).toBe(201);
      // The browser starts DTLS the moment its ICE connects; werift as the client waited 100 ms first.
      expect(await response.text()).toMatch(/^a=setup:passive\r?$/m);
      await page.waitForFunction(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer.joinMs.firstFrame !== undefined, null, { timeout: 30_000 });
      expect(await page.getByTestId('player').evaluate((video: HTMLVideoElement) => video.videoWidth)).toBe(640);
    } finally {
      await context.close();
    }
  });
  it('starts the viewer\'s video at a keyframe: the browser never has to ask for one before its first frame', async () => {
    const context = await browser.newContext();
    try {
      // The page's peer connection, kept where the test can read its statistics.
      await context.addInitScript(() => {
        const Native = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends Native {
          constructor(configuration?: RTCConfiguration) {
            super(configuration);
            (window as unknown as { testPeer?: RTCPeerConnection }).testPeer ??= this;
          }
        };
      });
      const page = await context.newPage();
      await page.goto(`${server.url}/watch?stream=${stream.id}`);
      const firstDecoded = await waitFor(
        'the first decoded frame',
        () =>
          page.evaluate(async () => {
            const peer = (window as unknown as { testPeer?: RTCPeerConnection }).testPeer;
            const reports: { type: string; kind?: string; framesDecoded?: number; pliCount?: number }[] = [];
            if (peer) (await peer.getStats()).forEach((report: (typeof reports)[number]) => reports.push(report));
            const video = reports.find((report) => report.type === 'inbound-rtp' && report.kind === 'video' && (report.framesDecoded ?? 0) > 0);
            return video ? { pliCount: video.pliCount } : undefined;
          }),
        30_000,
        10,
      );
      expect(firstDecoded).toEqual({ pliCount: 0 });
    } finally {
      await context.close();
    }
  });
  it('an HLS-only page (&mode=hls) sends no WHEP offer', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const offers: string[] = [];
      page.on('request', (request) => request.method() === 'POST' && request.url().includes('/whep/') && offers.push(request.url()));
      await page.goto(`${server.url}/watch?stream=${stream.id}&mode=hls`);
      await page.waitForFunction(() => (window as unknown as { livefxViewer?: ViewerProbe }).livefxViewer?.joinMs.socketReady !== undefined, null, { timeout: 30_000 });
      expect((await page.evaluate(probeScript)).mode).toBe('hls');
      expect(offers).toEqual([]);
    } finally {
      await context.close();
    }
  });
  it('loads its code as one module, preloaded from the head, so the WHEP offer never queues behind a graph of modules', async () => {
    const html = await (await fetch(`${server.url}/watch?stream=${stream.id}`)).text();
    const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((match) => match[1]!);
    expect(preloaded).toEqual(['/assets/pages/watch-page.js']);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const scripts: string[] = [];
      page.on('request', (request) => request.resourceType() === 'script' && new URL(request.url()).pathname.startsWith('/assets/') && scripts.push(new URL(request.url()).pathname));
      await page.goto(`${server.url}/watch?stream=${stream.id}`);
      await page.waitForFunction(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer.joinMs.firstFrame !== undefined, null, { timeout: 30_000 });
      expect(scripts).toEqual(['/assets/pages/watch-page.js']);
    } finally {
      await context.close();
    }
  });
});
