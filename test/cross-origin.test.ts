// Cross-origin integration as an integrator's site does it: a page on another origin publishes with its
// own WHIP client, plays with its own WHEP client and with hls.js, and frames the /embed player; the
// /v1 API stays closed to it. The site is a separate HTTP server on another loopback port; the WHIP and
// WHEP clients below are written from RFC 9725 and the WHEP draft, not from livefx's pages.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';
import { launchChromium } from './helpers/chromium.js';
import { ADMIN_TOKEN, adminFetch, createStream, startServer, type RunningServer } from './helpers/livefx-process.js';
import { closeAfterTests } from './helpers/test-lifecycle.js';

/** A partner site: an empty page, and hls.js served from the site itself (as a site bundles its own player). */
interface PartnerSite {
  origin: string;
  close(): Promise<void>;
}

async function startPartnerSite(): Promise<PartnerSite> {
  const hlsScript = await readFile(path.join(path.dirname(createRequire(import.meta.url).resolve('hls.js')), 'hls.min.js'));
  const server: Server = createServer((request, response) => {
    if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><html><head><title>partner site</title></head><body></body></html>');
    } else if (request.url === '/hls.min.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(hlsScript);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

interface RfcClientWindow {
  rfc: {
    /** WHIP: publishes Chromium's fake camera and microphone; the session URL and what the answer said. */
    publish(endpoint: string, bearer: string): Promise<{ status: number; contentType: string | null; sessionUrl: string }>;
    /** WHEP: plays into a new <video>, counting presented frames in `frames`. */
    play(endpoint: string): Promise<{ status: number; sessionUrl: string }>;
    /** hls.js from the site's own copy, playing a playlist on livefx's origin. */
    playHls(playlist: string): void;
    end(sessionUrl: string, bearer: string): Promise<number>;
    frames: { whep: number; hls: number; whepWidth: number; hlsErrors: string[] };
  };
}

/** Defines window.rfc in the page: small WHIP/WHEP clients as a site would write them from the RFC (non-trickle ICE). */
function installRfcClients(): void {
  const frames = { whep: 0, hls: 0, whepWidth: 0, hlsErrors: [] as string[] };
  const gathered = (pc: RTCPeerConnection): Promise<void> =>
    new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    });
  // RFC 9725 §4.2: offer in the body as application/sdp, bearer token, 201 with the answer and the session URL in Location (relative to the endpoint).
  const exchange = async (pc: RTCPeerConnection, endpoint: string, bearer?: string): Promise<{ status: number; contentType: string | null; sessionUrl: string }> => {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const headers: Record<string, string> = { 'content-type': 'application/sdp' };
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const response = await fetch(endpoint, { method: 'POST', headers, body: pc.localDescription!.sdp });
    if (response.status !== 201) throw new Error(`${endpoint} answered ${response.status}: ${await response.text()}`);
    const location = response.headers.get('location');
    if (!location) throw new Error('the 201 carries no readable Location header');
    // ICE servers may come as Link headers; livefx on loopback sends none, and none are needed.
    await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    return { status: response.status, contentType: response.headers.get('content-type'), sessionUrl: new URL(location, endpoint).toString() };
  };
  const countFrames = (video: HTMLVideoElement, kind: 'whep' | 'hls'): void => {
    const onFrame = (): void => {
      frames[kind]++;
      if (kind === 'whep') frames.whepWidth = video.videoWidth;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  const newVideo = (): HTMLVideoElement => {
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
    return video;
  };
  (window as unknown as RfcClientWindow).rfc = {
    frames,
    async publish(endpoint, bearer) {
      const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
      const pc = new RTCPeerConnection({ iceServers: [] });
      for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
      return exchange(pc, endpoint, bearer);
    },
    async play(endpoint) {
      const pc = new RTCPeerConnection({ iceServers: [] });
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      const video = newVideo();
      pc.addEventListener('track', (event) => {
        if (event.track.kind === 'video') video.srcObject = new MediaStream([event.track]);
      });
      countFrames(video, 'whep');
      return exchange(pc, endpoint);
    },
    playHls(playlist) {
      const Hls = (window as unknown as { Hls: any }).Hls;
      const video = newVideo();
      countFrames(video, 'hls');
      const hls = new Hls({ liveSyncDurationCount: 2 });
      hls.on(Hls.Events.ERROR, (_event: unknown, data: { fatal: boolean; details: string }) => {
        frames.hlsErrors.push(data.details);
        // The playlist is 404 until the first segments exist: try again.
        if (data.fatal) setTimeout(() => hls.loadSource(playlist), 1000);
      });
      hls.attachMedia(video);
      hls.loadSource(playlist);
    },
    async end(sessionUrl, bearer) {
      return (await fetch(sessionUrl, { method: 'DELETE', headers: { authorization: `Bearer ${bearer}` } })).status;
    },
  };
}

const rfcFrames = (page: Page): Promise<RfcClientWindow['rfc']['frames']> => page.evaluate(() => (window as unknown as RfcClientWindow).rfc.frames);

let framesMade = 0;

/** Frames `src` in `page`; the framed document, or 'refused' when the browser would not show it there (its error page instead). */
async function frameIn(page: Page, src: string): Promise<Frame | 'refused'> {
  const name = `framed-${++framesMade}`;
  await page.evaluate(
    ([url, frameName]) =>
      new Promise<void>((resolve) => {
        const iframe = document.createElement('iframe');
        iframe.name = frameName!;
        iframe.width = '640';
        iframe.height = '360';
        iframe.addEventListener('load', () => resolve(), { once: true });
        // Chromium fires load for its error page too; the timer only turns a hang into the assertion's message.
        setTimeout(resolve, 20_000);
        iframe.src = url!;
        document.body.append(iframe);
      }),
    [src, name],
  );
  const frame = page.frame({ name });
  if (!frame) throw new Error(`no frame named ${name}`);
  return frame.url().startsWith('chrome-error:') ? 'refused' : frame;
}

const framedViewer = (frame: Frame): Promise<{ framesRendered: number; mode: string; state: string; lastCode: unknown; captionsOn: boolean } | null> =>
  frame.evaluate(() => (window as unknown as { livefxViewer?: { framesRendered: number; mode: string; state: string; lastCode: unknown; captionsOn: boolean } }).livefxViewer ?? null);

const preflight = (url: string, origin: string, method: string, requestHeaders = 'authorization, content-type'): Promise<Response> =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders } });

const listed = (header: string | null): string[] => (header ?? '').split(',').map((item) => item.trim().toLowerCase());

let server: RunningServer;
/** A second server whose settings name one partner site (siteB) only. */
let namedServer: RunningServer;
let browser: Browser;
let siteA: PartnerSite;
let siteB: PartnerSite;

beforeAll(async () => {
  [siteA, siteB] = await Promise.all([startPartnerSite(), startPartnerSite()]);
  server = await startServer();
  namedServer = await startServer({ LIVEFX_CORS_ORIGINS: siteB.origin, LIVEFX_EMBED_ORIGINS: siteB.origin });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await closeAfterTests({ server, browser });
  await namedServer?.stop();
  await siteA?.close();
  await siteB?.close();
});

describe('cross-origin WHIP, WHEP and HLS over plain HTTP', () => {
  it('answers WHIP and WHEP preflights from any origin by default, with Accept-Post: application/sdp (RFC 9725)', async () => {
    const stream = await createStream(server.url, 'preflights');
    for (const endpoint of [`/whip/${stream.id}`, `/whep/${stream.id}`]) {
      const answer = await preflight(`${server.url}${endpoint}`, siteA.origin, 'POST');
      expect(answer.status, endpoint).toBe(204);
      expect(answer.headers.get('access-control-allow-origin'), endpoint).toBe('*');
      expect(listed(answer.headers.get('access-control-allow-methods')), endpoint).toContain('post');
      expect(listed(answer.headers.get('access-control-allow-headers')), endpoint).toEqual(expect.arrayContaining(['authorization', 'content-type']));
      expect(answer.headers.get('accept-post'), endpoint).toBe('application/sdp');
      expect(answer.headers.get('access-control-allow-credentials'), 'credentials are bearer tokens, never cookies').toBeNull();
    }
    for (const session of [`/whip/${stream.id}/some-session`, `/whep/${stream.id}/some-session`]) {
      const answer = await preflight(`${server.url}${session}`, siteA.origin, 'DELETE', 'authorization');
      expect(answer.status, session).toBe(204);
      expect(listed(answer.headers.get('access-control-allow-methods')), session).toEqual(expect.arrayContaining(['patch', 'delete']));
    }
    // A WHIP client may ask what the endpoint takes before its offer, without CORS.
    const plain = await fetch(`${server.url}/whip/${stream.id}`, { method: 'OPTIONS' });
    expect(plain.status).toBe(204);
    expect(listed(plain.headers.get('allow'))).toEqual(expect.arrayContaining(['post', 'options']));
    expect(plain.headers.get('accept-post')).toBe('application/sdp');
  });

  it('lets another origin read WHIP/WHEP answers and refusals, with Location, Link and ETag exposed', async () => {
    const stream = await createStream(server.url, 'refusals');
    const refused = await fetch(`${server.url}/whip/${stream.id}`, { method: 'POST', headers: { origin: siteA.origin, 'content-type': 'application/sdp', authorization: 'Bearer wrong-key' }, body: 'v=0\r\n' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(listed(refused.headers.get('access-control-expose-headers'))).toEqual(expect.arrayContaining(['location', 'link', 'etag']));
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const hlsPreflight = await preflight(`${server.url}/hls/${stream.id}/index.m3u8`, siteA.origin, 'GET', 'range');
    expect(hlsPreflight.status).toBe(204);
    expect(hlsPreflight.headers.get('access-control-allow-origin')).toBe('*');
    const notYet = await fetch(`${server.url}/hls/${stream.id}/index.m3u8`, { headers: { origin: siteA.origin } });
    expect(notYet.status).toBe(404);
    expect(notYet.headers.get('access-control-allow-origin')).toBe('*');
    expect(notYet.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });

  it('keeps the /v1 API and the pages same-origin: a preflight is refused with origin_not_allowed, answers carry no CORS headers', async () => {
    const answer = await preflight(`${server.url}/v1/streams`, siteA.origin, 'POST');
    expect(answer.status).toBe(403);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    const body = (await answer.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('origin_not_allowed');
    expect(body.error.message).toContain('LIVEFX_CORS_ORIGINS');
    const list = await adminFetch(`${server.url}/v1/streams`, { headers: { origin: siteA.origin } });
    expect(list.status).toBe(200);
    expect(list.headers.get('access-control-allow-origin')).toBeNull();
    expect(list.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const watch = await fetch(`${server.url}/watch?stream=x`, { headers: { origin: siteA.origin } });
    expect(watch.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(watch.headers.get('x-frame-options')).toBe('DENY');
  });

  it('lets any origin frame /embed by default, with the strict policy otherwise unchanged', async () => {
    const embed = await fetch(`${server.url}/embed?stream=x`);
    expect(embed.status).toBe(200);
    const policy = embed.headers.get('content-security-policy')!;
    expect(policy).toContain('frame-ancestors *');
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("object-src 'none'");
    expect(embed.headers.get('x-frame-options')).toBeNull();
  });

  it('with LIVEFX_CORS_ORIGINS naming an origin: only it reaches the media routes, and the /v1 API too; /embed only frames for LIVEFX_EMBED_ORIGINS', async () => {
    const named = await preflight(`${namedServer.url}/whep/any`, siteB.origin, 'POST');
    expect(named.status).toBe(204);
    expect(named.headers.get('access-control-allow-origin')).toBe(siteB.origin);
    expect(listed(named.headers.get('vary'))).toContain('origin');
    const other = await preflight(`${namedServer.url}/whep/any`, siteA.origin, 'POST');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed');
    const api = await preflight(`${namedServer.url}/v1/streams`, siteB.origin, 'POST');
    expect(api.status).toBe(204);
    expect(api.headers.get('access-control-allow-origin')).toBe(siteB.origin);
    const apiRead = await adminFetch(`${namedServer.url}/v1/streams`, { headers: { origin: siteB.origin } });
    expect(apiRead.headers.get('access-control-allow-origin')).toBe(siteB.origin);
    const embed = await fetch(`${namedServer.url}/embed?stream=x`);
    expect(embed.headers.get('content-security-policy')).toContain(`frame-ancestors 'self' ${siteB.origin}`);
  });

  it('refuses to start with an origin it cannot use, naming the variable', () => {
    expect(() => loadConfig({ LIVEFX_CORS_ORIGINS: 'https://site.example/player' })).toThrow(ConfigError);
    expect(() => loadConfig({ LIVEFX_EMBED_ORIGINS: 'site.example' })).toThrow(/LIVEFX_EMBED_ORIGINS: "site\.example" is not an origin/);
    expect(loadConfig({ LIVEFX_CORS_ORIGINS: '*, https://Site.example/' }).LIVEFX_CORS_ORIGINS).toEqual(['*', 'https://site.example']);
  });
});

describe('cross-origin clients in Chromium', () => {
  it('a page on another origin publishes over WHIP, plays over WHEP and with hls.js, and cannot read the /v1 API', async () => {
    const stream = await createStream(server.url, 'partner publisher');
    const page = await browser.newPage();
    await page.goto(`${siteA.origin}/`);
    await page.evaluate(installRfcClients);
    const published = await page.evaluate(([endpoint, key]) => (window as unknown as RfcClientWindow).rfc.publish(endpoint!, key!), [`${server.url}/whip/${stream.id}`, stream.streamKey]);
    expect(published.status).toBe(201);
    expect(published.contentType).toMatch(/^application\/sdp/);
    expect(published.sessionUrl.startsWith(`${server.url}/whip/${stream.id}/`)).toBe(true);

    const played = await page.evaluate((endpoint) => (window as unknown as RfcClientWindow).rfc.play(endpoint), `${server.url}/whep/${stream.id}`);
    expect(played.sessionUrl.startsWith(`${server.url}/whep/${stream.id}/`)).toBe(true);
    await page.waitForFunction(() => (window as unknown as RfcClientWindow).rfc.frames.whep >= 30, null, { timeout: 45_000 });
    expect((await rfcFrames(page)).whepWidth).toBeGreaterThan(0);

    await page.addScriptTag({ url: `${siteA.origin}/hls.min.js` });
    await page.evaluate((playlist) => (window as unknown as RfcClientWindow).rfc.playHls(playlist), `${server.url}/hls/${stream.id}/index.m3u8`);
    await page.waitForFunction(() => (window as unknown as RfcClientWindow).rfc.frames.hls >= 30, null, { timeout: 60_000 }).catch(async (error: Error) => {
      throw new Error(`${error.message}; hls.js errors: ${(await rfcFrames(page)).hlsErrors.join(', ')}`);
    });
    // The media the player read carries the headers that let it: playlists and segments alike.
    const playlist = await fetch(`${server.url}/hls/${stream.id}/index.m3u8`, { headers: { origin: siteA.origin } });
    expect(playlist.headers.get('access-control-allow-origin')).toBe('*');
    expect(playlist.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const segmentName = (await playlist.text()).split('\n').find((line) => line.endsWith('.ts'))!;
    const segment = await fetch(`${server.url}/hls/${stream.id}/${segmentName}`, { headers: { origin: siteA.origin } });
    expect(segment.status).toBe(200);
    expect(segment.headers.get('access-control-allow-origin')).toBe('*');
    expect(segment.headers.get('cross-origin-resource-policy')).toBe('cross-origin');

    // The management API stays closed to the site, even with the admin's token in hand.
    const apiAttempts = await page.evaluate(
      async ([base, token]) => {
        const attempt = (url: string, init?: RequestInit): Promise<string> =>
          fetch(url, init).then(
            (response) => `read ${response.status}`,
            (error: Error) => `refused: ${error.name}`,
          );
        return [await attempt(`${base}/v1/streams`, { headers: { authorization: `Bearer ${token}` } }), await attempt(`${base}/v1/transforms`)];
      },
      [server.url, ADMIN_TOKEN],
    );
    expect(apiAttempts).toEqual(['refused: TypeError', 'refused: TypeError']);

    // DELETE on the session URL ends the session (a preflighted DELETE with the stream key).
    expect(await page.evaluate(([sessionUrl, key]) => (window as unknown as RfcClientWindow).rfc.end(sessionUrl!, key!), [published.sessionUrl, stream.streamKey])).toBe(200);
    await expect.poll(async () => ((await (await adminFetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { state: string }).state, { timeout: 10_000 }).toBe('ended');
    await page.close();
  });

  it('frames /embed on another origin and plays it with captions toggle; other pages, and /embed where LIVEFX_EMBED_ORIGINS lists only another origin, refuse the frame', async () => {
    const stream = await createStream(server.url, 'embedded');
    const publisher = await browser.newPage();
    await publisher.goto(`${siteA.origin}/`);
    await publisher.evaluate(installRfcClients);
    await publisher.evaluate(([endpoint, key]) => (window as unknown as RfcClientWindow).rfc.publish(endpoint!, key!), [`${server.url}/whip/${stream.id}`, stream.streamKey]);

    const page = await browser.newPage();
    await page.goto(`${siteA.origin}/`);
    const embed = await frameIn(page, `${server.url}/embed?stream=${stream.id}`);
    expect(embed, '/embed framed on another origin').not.toBe('refused');
    const frame = embed as Frame;
    // The processed stream plays in the frame: frames carrying livefx's burn-in code, over WebRTC.
    await frame.waitForFunction(
      () => {
        const viewer = (window as unknown as { livefxViewer: { framesRendered: number; lastCode: unknown } }).livefxViewer;
        return viewer.framesRendered >= 30 && viewer.lastCode !== null;
      },
      null,
      { timeout: 45_000 },
    );
    expect(await framedViewer(frame)).toMatchObject({ mode: 'webrtc', state: 'live', captionsOn: true });
    await frame.getByTestId('captions-toggle').click();
    expect(await frame.getByTestId('captions-toggle').textContent()).toBe('CC off');
    expect((await framedViewer(frame))!.captionsOn).toBe(false);

    expect(await frameIn(page, `${server.url}/watch?stream=${stream.id}`), '/watch keeps frame-ancestors none').toBe('refused');
    expect(await frameIn(page, `${namedServer.url}/embed?stream=${stream.id}`), 'site A is not in LIVEFX_EMBED_ORIGINS').toBe('refused');
    const listedSite = await browser.newPage();
    await listedSite.goto(`${siteB.origin}/`);
    const allowed = await frameIn(listedSite, `${namedServer.url}/embed?stream=${stream.id}`);
    expect(allowed, 'site B is in LIVEFX_EMBED_ORIGINS').not.toBe('refused');
    await (allowed as Frame).waitForFunction(() => (window as unknown as { livefxViewer?: unknown }).livefxViewer !== undefined, null, { timeout: 10_000 });
    await Promise.all([page.close(), listedSite.close(), publisher.close()]);
  });
});
