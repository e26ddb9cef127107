import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goLive } from './helpers/browser-pages.js';
import { closeAfterTests, startServerAndChromium } from './helpers/test-lifecycle.js';
import { publishCodedCanvas } from './helpers/in-page-media.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, ffmpegChildren, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { publishAndWatch } from './helpers/publish-and-watch.js';

interface ViewerProbe {
  framesRendered: number;
  lastCode: { frameNumber: number; captureMsLow: number } | null;
  latencyMs: number | null;
  mode: string;
  state: string;
}

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  ({ server, browser } = await startServerAndChromium({ LIVEFX_MEDIA_TIMEOUT_S: '3' }));
});

afterAll(() => closeAfterTests({ server, browser }));

const viewerProbe = (page: Page): Promise<ViewerProbe> => page.evaluate(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer);

/**
 * Frames keep coming and each carries the server's burn-in code, whose frame number advances: 30 more
 * frames (one second of the 30 fps source) arrive within 15 s. A fixed 2 s window failed on a loaded
 * machine, where an HLS player waiting for its next segment renders nothing for a moment.
 */
async function expectProcessedFramesAdvance(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer.lastCode !== null, null, { timeout: 30_000 });
  const first = await viewerProbe(page);
  await page.waitForFunction(
    (start) => {
      const viewer = (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer;
      return viewer.framesRendered - start.framesRendered >= 30 && viewer.lastCode !== null && viewer.lastCode.frameNumber > start.frameNumber;
    },
    { framesRendered: first.framesRendered, frameNumber: first.lastCode!.frameNumber },
    { timeout: 15_000 },
  );
  const second = await viewerProbe(page);
  expect(second.framesRendered - first.framesRendered).toBeGreaterThanOrEqual(30);
  expect(second.lastCode!.frameNumber).toBeGreaterThan(first.lastCode!.frameNumber);
}

interface RtpStatQuery {
  /** The page's window global and its property holding the RTCPeerConnection. */
  global: string;
  connection: string;
  type: 'inbound-rtp' | 'outbound-rtp';
  kind: 'audio' | 'video';
  field: string;
}

/** One number from the page's peer connection stats (the entry of that type and kind), 0 until there is one. */
function rtpStat(page: Page, query: RtpStatQuery): Promise<number> {
  return page.evaluate(async ({ global, connection, type, kind, field }) => {
    const holder = (window as unknown as Record<string, Record<string, RTCPeerConnection>>)[global]!;
    let value = 0;
    (await holder[connection]!.getStats()).forEach((entry: Record<string, unknown>) => {
      if (entry.type === type && entry.kind === kind) value = (entry[field] as number | undefined) ?? 0;
    });
    return value;
  }, query);
}

describe('browser: publish page → processed stream → watch page', () => {
  it('plays the processed stream over WebRTC and HLS, and ends for viewers when the publisher closes the tab', async () => {
    const stream = await createStream(server.url, 'browser e2e');
    const publisher = await browser.newPage();
    await goLive(publisher, `${server.url}${stream.urls.publish!}&source=pattern`);
    await expect.poll(() => publisher.getByTestId('stats').textContent(), { timeout: 10_000 }).toMatch(/Resolution\d+×\d+/);
    // REMB and the x-google bitrate hints let Chromium's estimate reach 2 Mbit/s at 720p quickly.
    const targetBitrate = (): Promise<number> => rtpStat(publisher, { global: 'livefxPublisher', connection: 'pc', type: 'outbound-rtp', kind: 'video', field: 'targetBitrate' });
    await expect.poll(targetBitrate, { timeout: 10_000 }).toBeGreaterThanOrEqual(2_000_000);

    const webrtc = await browser.newPage();
    await webrtc.goto(`${server.url}${stream.urls.watch}`);
    await expectProcessedFramesAdvance(webrtc);
    const webrtcProbe = await viewerProbe(webrtc);
    expect(webrtcProbe.mode).toBe('webrtc');
    expect(await webrtc.getByTestId('mode').textContent()).toBe('webrtc');
    expect(webrtcProbe.latencyMs).not.toBeNull();
    expect(await webrtc.getByTestId('latency').textContent()).toMatch(/^-?\d+ ms$/);

    // The publisher's audio (the pattern's beep) is forwarded to WebRTC viewers.
    const audioPackets = (): Promise<number> => rtpStat(webrtc, { global: 'livefxViewer', connection: 'peerConnection', type: 'inbound-rtp', kind: 'audio', field: 'packetsReceived' });
    await expect.poll(audioPackets, { timeout: 5000 }).toBeGreaterThan(50);

    const hls = await browser.newPage();
    await hls.goto(`${server.url}${stream.urls.watchHls}`);
    await expectProcessedFramesAdvance(hls);
    expect((await viewerProbe(hls)).mode).toBe('hls');
    await expect
      .poll(async () => ((await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { viewers: unknown } }).stats.viewers)
      .toEqual({ webrtc: 1, hls: 1 });

    // The streamer closes the tab: viewers see "stream ended" within 5 s and every process is gone.
    const closedAt = Date.now();
    await publisher.close({ runBeforeUnload: true });
    await webrtc.waitForFunction(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer.state === 'ended', null, { timeout: 5000 });
    expect(Date.now() - closedAt).toBeLessThan(5000);
    expect(await webrtc.getByTestId('ended').isVisible()).toBe(true);
    expect(await webrtc.getByTestId('ended').textContent()).toBe('stream ended');
    await hls.waitForFunction(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer.state === 'ended', null, { timeout: 5000 });
    await waitFor('no ffmpeg left', async () => ((await ffmpegChildren(server.process.pid!)).length === 0 ? true : undefined), 5000);
    await webrtc.close();
    await hls.close();
  });

  it('falls back to HLS by itself when WebRTC signalling fails', async () => {
    const stream = await createStream(server.url, 'fallback');
    const publisher = await browser.newPage();
    await goLive(publisher, `${server.url}${stream.urls.publish!}&source=pattern`);
    const viewer = await browser.newPage();
    await viewer.route('**/whep/**', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"code":"unavailable","message":"test"}}' }));
    await viewer.goto(`${server.url}${stream.urls.watch}`);
    await expectProcessedFramesAdvance(viewer);
    expect(await viewer.getByTestId('mode').textContent()).toBe('hls (fallback)');
    await fetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE' });
    await publisher.close();
    await viewer.close();
  });

  it('lets an operator add, tune and toggle a transform, and viewers see it', async () => {
    const stream = await createStream(server.url, 'operated');
    const { publisher, viewer } = await publishAndWatch(server.url, stream, { width: 640, height: 360 });
    await waitFor('viewer frames', () => viewer.frames.length >= 15 || undefined, 15_000);
    const recentLuma = () => viewer.frames.slice(-3).reduce((sum, frame) => sum + frame.centerLuma, 0) / 3;
    const before = recentLuma();

    const console = await browser.newPage();
    await console.goto(`${server.url}${stream.urls.operator}`);
    await console.getByTestId('add-transform').click();
    await expect.poll(() => console.getByTestId('transform-card').count()).toBe(1);
    await console.getByTestId('param-brightness').fill('-0.4');
    await waitFor('darker at the viewer', () => (recentLuma() < before - 40 ? true : undefined), 5000);
    await expect.poll(() => console.getByTestId('transform-ms').first().textContent(), { timeout: 5000 }).toMatch(/^\d+\.\d{2} ms/);

    await console.getByTestId('transform-toggle').uncheck();
    await waitFor('restored at the viewer', () => (Math.abs(recentLuma() - before) < 15 ? true : undefined), 5000);
    const spec = (await (await fetch(`${server.url}/v1/streams/${stream.id}/transforms`)).json()) as { transforms: { name: string; enabled: boolean; params: { brightness: number } }[] };
    expect(spec.transforms).toEqual([expect.objectContaining({ name: 'color', enabled: false, params: expect.objectContaining({ brightness: -0.4 }) })]);
    await console.close();
    await viewer.stop();
    await publisher.stop();
  });

  it('tells the streamer when the stream key is wrong, and ingests nothing', async () => {
    const stream = await createStream(server.url, 'wrong key');
    const page = await browser.newPage();
    await page.goto(`${server.url}/publish?stream=${stream.id}&key=not-the-key&source=pattern`);
    await page.getByTestId('go-live').click();
    await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 10_000 }).toBe('error');
    expect(await page.getByTestId('error').textContent()).toMatch(/stream key was rejected/);
    const view = (await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { state: string };
    expect(view.state).toBe('idle');
    await page.close();
  });

  it('processes a VP8 publisher and serves it as H.264', async () => {
    const stream = await createStream(server.url, 'vp8');
    const publisher = await browser.newPage();
    await publisher.goto(`${server.url}/healthz`);
    await publishCodedCanvas(publisher, stream.id, stream.streamKey, 'VP8');
    const sdp = await publisher.evaluate(() => (window as unknown as { publisherPc: RTCPeerConnection }).publisherPc.remoteDescription!.sdp);
    expect(sdp).toMatch(/a=rtpmap:\d+ VP8\/90000/);
    expect(sdp).not.toMatch(/a=rtpmap:\d+ H264\/90000/);
    const viewer = await browser.newPage();
    await viewer.goto(`${server.url}${stream.urls.watch}`);
    await expectProcessedFramesAdvance(viewer);
    const view = (await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { width: number; height: number } };
    expect(view.stats.width).toBe(1280);
    expect(view.stats.height).toBe(720);
    await fetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE' });
    await viewer.waitForFunction(() => (window as unknown as { livefxViewer: ViewerProbe }).livefxViewer.state === 'ended', null, { timeout: 5000 });
    await publisher.close();
    await viewer.close();
  });
});
