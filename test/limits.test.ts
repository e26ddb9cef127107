// Every configurable limit against a real server started with a small value of it: the refusal a
// client gets (status, code, a message naming the variable), and that what should still work does.
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientPeerConnection, h264ClientCodec } from './helpers/webrtc-client.js';
import { WhepClient } from './helpers/whep-client.js';
import { WhipClient } from './helpers/whip-client.js';
import { iceGatheringComplete } from '../server/sfu/ice-gathering.js';
import { FrameRateCap, fitWithin } from '../server/pipeline/input-limits.js';
import { launchChromium } from './helpers/chromium.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { ADMIN_TOKEN, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';

/** Works before and after access control lands: the admin token is sent on every API call and socket. */
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

const servers: RunningServer[] = [];
async function serverWith(env: Record<string, string>): Promise<RunningServer> {
  const server = await startServer({ LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
  servers.push(server);
  return server;
}

afterAll(async () => {
  for (const server of servers) expect(await server.stop('SIGTERM'), server.output()).toBe(0);
});

/** The value of livefx_limit_refusals_total for one limit (0 when never counted). */
async function refusals(url: string, limit: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: ADMIN })).text();
  const match = new RegExp(`^livefx_limit_refusals_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

async function createStream(url: string, title = 'limits'): Promise<Response> {
  return fetch(`${url}/v1/streams`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ title }) });
}

async function createdStream(url: string): Promise<{ id: string; streamKey: string }> {
  const response = await createStream(url);
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as { id: string; streamKey: string };
}

function connect(url: string, namespace: string): Socket {
  return io(`${url}${namespace}`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'], reconnection: false });
}

/** Sends `count` requests one after another and returns their statuses and the first refusal. */
async function burst(count: number, send: () => Promise<Response>): Promise<{ statuses: number[]; refused: Response | undefined }> {
  const statuses: number[] = [];
  let refused: Response | undefined;
  for (let i = 0; i < count; i++) {
    const response = await send();
    statuses.push(response.status);
    if (response.status === 429 && !refused) refused = response;
    else await response.arrayBuffer();
  }
  return { statuses, refused };
}

describe('HTTP request rate per address', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serverWith({ LIVEFX_HTTP_RATE_PER_IP: '1', LIVEFX_HLS_RATE_PER_IP: '2', LIVEFX_HTTP_RATE_PER_TOKEN: '0' });
  });

  it('answers 429 rate_limited with Retry-After once an address outruns LIVEFX_HTTP_RATE_PER_IP, and health checks still pass', async () => {
    const { statuses, refused } = await burst(20, () => fetch(`${server.url}/v1/streams`, { headers: ADMIN }));
    expect(statuses[0]).toBe(200);
    expect(refused, `statuses: ${statuses.join(',')}`).toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused!.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(/from 127\.0\.0\.1.*LIVEFX_HTTP_RATE_PER_IP/);
    // Right after the refusal: monitoring is exempt, HLS has its own bucket (the stream is unknown: a 404, not a 429).
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`, { headers: ADMIN })).status).toBe(200);
    const hls = await fetch(`${server.url}/hls/nope/index.m3u8`);
    expect(hls.status).toBe(404);
    expect(((await hls.json()) as { error: { code: string } }).error.code).toBe('stream_not_found');
    expect(await refusals(server.url, 'http_rate_per_ip')).toBe(statuses.filter((status) => status === 429).length);
  });

  it('limits HLS fetches per address with their own LIVEFX_HLS_RATE_PER_IP bucket', async () => {
    const { statuses, refused } = await burst(30, () => fetch(`${server.url}/hls/nope/index.m3u8`));
    expect(statuses[0]).toBe(404);
    expect(refused, `statuses: ${statuses.join(',')}`).toBeDefined();
    const body = (await refused!.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: 'rate_limited' });
    expect(body.error.message).toMatch(/HLS media.*LIVEFX_HLS_RATE_PER_IP/);
  });
});

describe('HTTP request rate per token', () => {
  it('limits each presented token (bearer or ?token=) to LIVEFX_HTTP_RATE_PER_TOKEN, apart from other tokens', async () => {
    const server = await serverWith({ LIVEFX_HTTP_RATE_PER_IP: '0', LIVEFX_HTTP_RATE_PER_TOKEN: '1' });
    const spent = await burst(20, () => fetch(`${server.url}/v1/streams`, { headers: { authorization: 'Bearer token-one' } }));
    expect(spent.refused, `statuses: ${spent.statuses.join(',')}`).toBeDefined();
    const body = (await spent.refused!.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(/with this token.*LIVEFX_HTTP_RATE_PER_TOKEN/);
    // The same token in the query string is the same bucket; another token has its own.
    const viaQuery = await burst(3, () => fetch(`${server.url}/v1/streams?token=token-one`));
    expect(viaQuery.refused, `statuses: ${viaQuery.statuses.join(',')}`).toBeDefined();
    expect((await fetch(`${server.url}/v1/streams`, { headers: { authorization: 'Bearer token-two' } })).status).not.toBe(429);
  });
});

describe('socket.io messages per connection', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serverWith({ LIVEFX_SOCKET_MESSAGES_PER_S: '2', LIVEFX_SOCKET_MESSAGE_MAX_KB: '4' });
  });

  it('closes a connection that sends a message over LIVEFX_SOCKET_MESSAGE_MAX_KB', async () => {
    const socket = connect(server.url, '/audience');
    try {
      await new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
      // Under the limit the message is handled (a clear refusal of the unknown stream).
      expect((await socket.timeout(5000).emitWithAck('watch-chat', { streamId: 'x'.repeat(64), pad: 'y'.repeat(3000) })).error.code).toBe('not_found');
      const reason = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      socket.emit('watch-chat', { streamId: 'nope', pad: 'y'.repeat(5000) });
      expect(await reason).toBe('transport close');
    } finally {
      socket.close();
    }
  });

  for (const [namespace, event, message] of [
    ['/live', 'time', {}],
    ['/operator', 'list-presets', {}],
    ['/audience', 'watch-chat', { streamId: 'nope' }],
  ] as const) {
    it(`answers the ack with rate_limited on ${namespace} once a connection outruns LIVEFX_SOCKET_MESSAGES_PER_S`, async () => {
      const socket = connect(server.url, namespace);
      try {
        const acks: { ok?: boolean; error?: { code: string; message: string } }[] = [];
        for (let i = 0; i < 12; i++) acks.push(await socket.timeout(5000).emitWithAck(event, message));
        expect(acks[0]!.error?.code).not.toBe('rate_limited');
        const limited = acks.find((ack) => ack.error?.code === 'rate_limited');
        expect(limited, JSON.stringify(acks)).toBeDefined();
        expect(limited!.ok).toBe(false);
        expect(limited!.error!.message).toMatch(/LIVEFX_SOCKET_MESSAGES_PER_S/);
        expect(socket.connected).toBe(true);
      } finally {
        socket.close();
      }
    });
  }

  it('disconnects a connection that keeps flooding far above the limit; others stay connected', async () => {
    const flooder = connect(server.url, '/live');
    const bystander = connect(server.url, '/live');
    try {
      await Promise.all([flooder, bystander].map((socket) => new Promise((resolve) => socket.once('connect', () => resolve(undefined)))));
      const reason = new Promise<string>((resolve) => flooder.once('disconnect', resolve));
      for (let i = 0; i < 200; i++) flooder.emit('time', () => {});
      expect(await reason).toBe('io server disconnect');
      expect(await refusals(server.url, 'socket_flood_disconnect')).toBe(1);
      expect(await bystander.timeout(5000).emitWithAck('time')).toHaveProperty('now');
    } finally {
      flooder.close();
      bystander.close();
    }
  });
});

describe('sizes, counts, chat and input limits', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serverWith({
      LIVEFX_HTTP_BODY_MAX_KB: '4',
      LIVEFX_SDP_MAX_KB: '8',
      LIVEFX_LUT_MAX_MB: '1',
      LIVEFX_IMAGE_MAX_MB: '1',
      LIVEFX_MAX_STREAMS: '2',
      LIVEFX_MAX_VIEWERS_PER_STREAM: '1',
      LIVEFX_CHAT_MAX_CHARS: '10',
      LIVEFX_CHAT_BURST: '2',
      LIVEFX_CHAT_PER_MIN: '1',
      LIVEFX_MAX_INPUT_RESOLUTION: '320x180',
      LIVEFX_MAX_INPUT_FPS: '10',
      LIVEFX_MAX_PUBLISH_KBPS: '200',
      LIVEFX_MEDIA_TIMEOUT_S: '5',
    });
  });

  it('refuses bodies over LIVEFX_HTTP_BODY_MAX_KB and SDP offers over LIVEFX_SDP_MAX_KB with 413 naming the limit', async () => {
    const json = await fetch(`${server.url}/v1/presets/big`, {
      method: 'PUT',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ transforms: [{ name: 'text', params: { text: 'x'.repeat(5000) } }] }),
    });
    expect(json.status).toBe(413);
    expect(await json.json()).toEqual({ error: { code: 'payload_too_large', message: 'the request body is larger than the 4 KB allowed (LIVEFX_HTTP_BODY_MAX_KB)' } });
    const sdp = await fetch(`${server.url}/whep/nope`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: `v=0\r\n${'a=x\r\n'.repeat(2000)}` });
    expect(sdp.status).toBe(413);
    expect(((await sdp.json()) as { error: { message: string } }).error.message).toBe('the SDP offer is larger than the 8 KB allowed (LIVEFX_SDP_MAX_KB)');
  });

  it('refuses LUT and image uploads over LIVEFX_LUT_MAX_MB / LIVEFX_IMAGE_MAX_MB with 413 file_too_large', async () => {
    for (const [folder, name] of [
      ['luts', 'big.cube'],
      ['images', 'big.png'],
    ] as const) {
      const form = new FormData();
      form.append('file', new Blob([Buffer.alloc(1024 * 1024 + 1024, 0x41)]), name);
      const response = await fetch(`${server.url}/v1/${folder}`, { method: 'POST', headers: ADMIN, body: form });
      expect(response.status).toBe(413);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('file_too_large');
      expect(body.error.message).toMatch(/1 MiB/);
      const listing = (await (await fetch(`${server.url}/v1/${folder}`, { headers: ADMIN })).json()) as Record<string, unknown[]>;
      expect(listing[folder]).toEqual([]);
    }
  });

  it('refuses a stream beyond LIVEFX_MAX_STREAMS with 503 too_many_streams, and takes one again once a stream has ended', async () => {
    const first = await createdStream(server.url);
    const second = await createdStream(server.url);
    const third = await createStream(server.url);
    expect(third.status).toBe(503);
    const body = (await third.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('too_many_streams');
    expect(body.error.message).toMatch(/2 streams.*LIVEFX_MAX_STREAMS/);
    expect(await refusals(server.url, 'too_many_streams')).toBe(1);
    expect((await fetch(`${server.url}/v1/streams/${first.id}`, { method: 'DELETE', headers: ADMIN })).status).toBe(200);
    const again = await createdStream(server.url);
    for (const stream of [second, again]) expect((await fetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE', headers: ADMIN })).status).toBe(200);
  });

  it('refuses chat over LIVEFX_CHAT_MAX_CHARS (message_too_long) and over LIVEFX_CHAT_BURST / LIVEFX_CHAT_PER_MIN (rate_limited)', async () => {
    const stream = await createdStream(server.url);
    const socket = connect(server.url, '/audience');
    try {
      const ask = (event: string, message: unknown): Promise<any> => socket.timeout(5000).emitWithAck(event, message);
      expect((await ask('join', { streamId: stream.id, name: 'Ann' })).ok).toBe(true);
      const long = await ask('chat', { streamId: stream.id, text: 'eleven char' });
      expect(long).toEqual({ ok: false, error: { code: 'message_too_long', message: 'chat: text is 11 characters; at most 10 are allowed' } });
      expect((await ask('chat', { streamId: stream.id, text: 'one' })).ok).toBe(true);
      expect((await ask('chat', { streamId: stream.id, text: 'two' })).ok).toBe(true);
      const third = await ask('chat', { streamId: stream.id, text: 'three' });
      expect(third.ok).toBe(false);
      expect(third.error.code).toBe('rate_limited');
      expect(third.error.message).toMatch(/slow down/);
    } finally {
      socket.close();
      await fetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE', headers: ADMIN });
    }
  });

  it('asks the publisher for at most LIVEFX_MAX_PUBLISH_KBPS in the WHIP answer', async () => {
    const stream = await createdStream(server.url);
    const pc = clientPeerConnection([h264ClientCodec()]);
    try {
      pc.addTransceiver('video', { direction: 'sendonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringComplete(pc);
      const response = await fetch(`${server.url}/whip/${stream.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${stream.streamKey}` },
        body: pc.localDescription!.sdp,
      });
      expect(response.status).toBe(201);
      expect(await response.text()).toContain('x-google-max-bitrate=200');
    } finally {
      await pc.close();
      await fetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE', headers: ADMIN });
    }
  });

  it('scales input above LIVEFX_MAX_INPUT_RESOLUTION down, drops frames above LIVEFX_MAX_INPUT_FPS, reports bitrate over the limit, and caps WebRTC viewers', async () => {
    const stream = await createdStream(server.url);
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 640, height: 360, fps: 30, kbps: 1200 });
    const viewer = new WhepClient(`${server.url}/whep/${stream.id}`);
    try {
      await publisher.start();
      await viewer.start();
      // The one viewer allowed is watching: the next is refused, and told where else to watch.
      const second = new WhepClient(`${server.url}/whep/${stream.id}`);
      const refusal = await second.start().then(
        () => undefined,
        (error: { status?: number; message: string }) => error,
      );
      await second.stop().catch(() => {});
      expect(refusal?.status).toBe(503);
      expect(refusal?.message).toMatch(/too_many_viewers.*LIVEFX_MAX_VIEWERS_PER_STREAM.*mode=hls/);

      const stats = await waitFor(
        'the input limits acting in the stream stats',
        async () => {
          const view = (await (await fetch(`${server.url}/v1/streams/${stream.id}`, { headers: ADMIN })).json()) as { stats: any };
          const limited: string[] = view.stats.input.limited;
          return ['resolution', 'fps', 'bitrate'].every((limit) => limited.includes(limit)) ? view.stats : undefined;
        },
        20_000,
        250,
      );
      expect(stats).toMatchObject({ width: 320, height: 180, input: { width: 640, height: 360 } });
      expect(stats.input.kbps).toBeGreaterThan(200);
      expect(stats.input.framesOverFpsLimit).toBeGreaterThan(0);
      // Viewers get the scaled picture.
      const frame = await waitFor('a decoded frame at the viewer', () => viewer.frames.at(-1), 20_000);
      expect([frame.width, frame.height]).toEqual([320, 180]);
      // Of each three frames of a 30 fps publisher at most one passes a 10 fps limit: far fewer frames leave than arrive.
      const later = await waitFor(
        'frames dropped for the fps limit to outnumber those encoded',
        async () => {
          const view = (await (await fetch(`${server.url}/v1/streams/${stream.id}`, { headers: ADMIN })).json()) as { stats: any };
          return view.stats.input.framesOverFpsLimit > 20 ? view.stats : undefined;
        },
        20_000,
        250,
      );
      expect(later.fpsOut).toBeLessThan(later.input.fps);
      // The operator sees it: the console's stats say what the publisher sends and what the server does about it.
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(`${server.url}/operator?stream=${stream.id}&token=${ADMIN_TOKEN}`);
        await waitFor(
          'the input note in the operator console',
          async () => {
            const text = (await page.getByTestId('operator-stats').textContent()) ?? '';
            return /Input640×360 · [\d.]+ fps · \d+ kbit\/s → scaled down, frames over the fps limit dropped, bitrate over the limit \(asked to lower\)/.test(text) ? text : undefined;
          },
          20_000,
          250,
        );
        expect(await page.getByTestId('operator-stats').textContent()).toMatch(/Resolution320×180/);
      } finally {
        await browser.close();
      }
    } finally {
      await viewer.stop();
      await publisher.stop();
      await fetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE', headers: ADMIN });
    }
  });
});

describe('limit configuration', () => {
  it('stops with a message naming the variable when a limit is malformed', () => {
    expect(() => loadConfig({ LIVEFX_MAX_INPUT_RESOLUTION: '1920' })).toThrow(ConfigError);
    expect(() => loadConfig({ LIVEFX_MAX_INPUT_RESOLUTION: '1920' })).toThrow(/LIVEFX_MAX_INPUT_RESOLUTION: expected "WIDTHxHEIGHT"/);
    expect(() => loadConfig({ LIVEFX_MAX_INPUT_RESOLUTION: '8x8' })).toThrow(/LIVEFX_MAX_INPUT_RESOLUTION: each side must be 16/);
    expect(() => loadConfig({ LIVEFX_HTTP_RATE_PER_IP: '-1' })).toThrow(/LIVEFX_HTTP_RATE_PER_IP/);
    expect(() => loadConfig({ LIVEFX_MAX_STREAMS: '0' })).toThrow(/LIVEFX_MAX_STREAMS/);
    expect(loadConfig({})).toMatchObject({ LIVEFX_MAX_INPUT_RESOLUTION: '1920x1080', LIVEFX_MAX_STREAMS: 16, LIVEFX_SOCKET_MESSAGES_PER_S: 20 });
  });
});

describe('input limit arithmetic', () => {
  it('fits a picture into the limit box in either orientation, keeping its shape in even pixels', () => {
    expect(fitWithin(1280, 720, 1920, 1080)).toEqual({ width: 1280, height: 720 });
    expect(fitWithin(3840, 2160, 1920, 1080)).toEqual({ width: 1920, height: 1080 });
    expect(fitWithin(1080, 1920, 1920, 1080)).toEqual({ width: 1080, height: 1920 });
    expect(fitWithin(2160, 3840, 1920, 1080)).toEqual({ width: 1080, height: 1920 });
    expect(fitWithin(1000, 1000, 640, 360)).toEqual({ width: 360, height: 360 });
    expect(fitWithin(641, 361, 320, 180)).toEqual({ width: 318, height: 180 });
  });

  it('keeps at most maxFps frames a second by RTP time, across the 32-bit wrap', () => {
    const cap = new FrameRateCap(30);
    // 60 fps for one second (1500 ticks a frame), starting just before the RTP clock wraps.
    let passed = 0;
    for (let i = 0; i < 60; i++) if (cap.passes((0xffff_f000 + i * 1500) >>> 0)) passed++;
    expect(passed).toBe(30);
    const all = new FrameRateCap(30);
    let kept = 0;
    for (let i = 0; i < 30; i++) if (all.passes(i * 3000)) kept++;
    expect(kept).toBe(30);
  });
});
