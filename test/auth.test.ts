import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, adminFetch, createStream, projectRoot, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { accessRuleFor } from '../server/auth/route-access.js';
import { ViewerLinks } from '../server/auth/viewer-links.js';
import { WhepClient } from './helpers/whep-client.js';
import { WhipClient } from './helpers/whip-client.js';
import { withToken } from '../server/http/media-routes.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ LIVEFX_MEDIA_TIMEOUT_S: '3' });
});

afterAll(async () => {
  await server?.stop();
});

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const jsonHeaders = (token: string): Record<string, string> => ({ ...bearer(token), 'content-type': 'application/json' });

async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, code: body.error.code, message: body.error.message };
}

/** Connects a socket.io client; resolves with the socket, or rejects with the connect_error's data. */
function connect(namespace: string, token?: string): Promise<Socket> {
  const socket = io(`${server.url}${namespace}`, { transports: ['websocket'], reconnection: false, ...(token ? { auth: { token } } : {}) });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error: Error & { data?: unknown }) => {
      socket.close();
      reject(error.data ?? error);
    });
  });
}

describe('access policy', () => {
  it('opens only pages, health, the transform catalog and whoami; everything unnamed is admin-only', () => {
    const routesByRule: Record<string, string[]> = {
      public: ['GET /', 'GET /watch', 'GET /healthz', 'GET /v1/transforms'],
      admin: ['POST /v1/streams', 'GET /metrics', 'GET /v1/some-route-added-later'],
      'global-operator': ['GET /v1/streams', 'GET /v1/recordings/:id/media/:kind'],
      'stream-viewer': ['GET /v1/streams/:id', 'GET /hls/:id/:file'],
      'stream-operator': ['PUT /v1/streams/:id/transforms'],
      'stream-key': ['POST /whip/:id'],
    };
    for (const [rule, routes] of Object.entries(routesByRule)) {
      for (const route of routes) {
        const [method, pattern] = route.split(' ') as [string, string];
        expect(accessRuleFor(method, pattern), route).toBe(rule);
      }
    }
  });

  it('carries a token into every URI of an HLS playlist (segments and renditions)', () => {
    const master = '#EXTM3U\n#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",URI="captions.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nindex.m3u8\n';
    expect(withToken(master, 'lfx_v1.a.1.b')).toBe(
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",URI="captions.m3u8?token=lfx_v1.a.1.b"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nindex.m3u8?token=lfx_v1.a.1.b\n',
    );
  });

  it('signs viewer links that expire and die with a key rotation', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'livefx-links-'));
    try {
      const links = new ViewerLinks(ViewerLinks.fileIn(dir));
      const { token, expiresAt } = links.sign('abc', 60, 1_000_000);
      expect(links.verify(token, 1_000_000)).toEqual({ streamId: 'abc', expiresAt });
      expect(links.verify(token, (expiresAt + 1) * 1000)).toBe('expired');
      expect(links.verify(token.replace('abc', 'abd'), 1_000_000)).toBe('invalid');
      // The key survives a restart (same file) …
      expect(new ViewerLinks(ViewerLinks.fileIn(dir)).verify(token, 1_000_000)).toEqual({ streamId: 'abc', expiresAt });
      // … and a rotation refuses every earlier link.
      links.rotate();
      expect(links.verify(token, 1_000_000)).toBe('invalid');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('HTTP access control', () => {
  it('refuses the API without a token (401 + WWW-Authenticate) and with a wrong one, and takes the admin token', async () => {
    const anonymous = await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"x"}' });
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await errorOf(anonymous)).toMatchObject({ status: 401, code: 'unauthorized' });
    const wrong = await fetch(`${server.url}/v1/streams`, { headers: bearer('lfx_op_not-a-real-token') });
    expect(await errorOf(wrong)).toMatchObject({ status: 401, code: 'invalid_token' });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(401);
    const scraped = await (await adminFetch(`${server.url}/metrics`)).text();
    expect(scraped).toMatch(/livefx_access_refusals_total\{code="unauthorized"\} [1-9]/);
    expect(scraped).toMatch(/livefx_access_refusals_total\{code="invalid_token"\} [1-9]/);
    const who = await (await adminFetch(`${server.url}/v1/auth/whoami`)).json();
    expect(who).toEqual({ role: 'admin', label: 'LIVEFX_ADMIN_TOKEN' });
    expect(await (await fetch(`${server.url}/v1/auth/whoami`)).json()).toEqual({ role: 'anonymous' });
  });

  it('limits a stream operator token to its stream, and a revoked token is refused', async () => {
    const mine = await createStream(server.url, 'mine');
    const other = await createStream(server.url, 'other');
    expect(mine.urls.operator).toBe(`/operator?stream=${mine.id}&token=${mine.operatorToken}`);
    const chain = JSON.stringify({ transforms: [{ name: 'color', params: { brightness: 0.1 } }] });
    const own = await fetch(`${server.url}/v1/streams/${mine.id}/transforms`, { method: 'PUT', headers: jsonHeaders(mine.operatorToken), body: chain });
    expect(own.status).toBe(200);
    const foreign = await fetch(`${server.url}/v1/streams/${other.id}/transforms`, { method: 'PUT', headers: jsonHeaders(mine.operatorToken), body: chain });
    expect(await errorOf(foreign)).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await errorOf(await fetch(`${server.url}/v1/streams`, { headers: bearer(mine.operatorToken) }))).status).toBe(403);
    expect((await errorOf(await fetch(`${server.url}/v1/recordings`, { headers: bearer(mine.operatorToken) }))).status).toBe(403);
    // Presets and assets are shared: any operator reaches them.
    expect((await fetch(`${server.url}/v1/presets`, { headers: bearer(mine.operatorToken) })).status).toBe(200);
    // Revoking it: refused from the next request on.
    const revoked = await adminFetch(`${server.url}/v1/tokens/${mine.operatorTokenId}`, { method: 'DELETE' });
    expect((await revoked.json()).revokedAt).toBeTruthy();
    const after = await fetch(`${server.url}/v1/streams/${mine.id}/transforms`, { headers: bearer(mine.operatorToken) });
    expect(await errorOf(after)).toMatchObject({ status: 401, code: 'invalid_token' });
  });

  it('issues global operator tokens (admin only) that reach every stream but not token management', async () => {
    const refused = await fetch(`${server.url}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role":"operator"}' });
    expect(refused.status).toBe(401);
    const bad = await adminFetch(`${server.url}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role":"root"}' });
    expect(await errorOf(bad)).toMatchObject({ status: 400, code: 'invalid_request', message: 'role: must be "admin" or "operator"' });
    const issued = await (await adminFetch(`${server.url}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role":"operator","label":"night shift"}' })).json();
    expect(issued).toMatchObject({ role: 'operator', label: 'night shift' });
    expect(issued.token).toMatch(/^lfx_op_/);
    const stream = await createStream(server.url, 'global');
    expect((await fetch(`${server.url}/v1/streams`, { headers: bearer(issued.token) })).status).toBe(200);
    expect((await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, { headers: bearer(issued.token) })).status).toBe(200);
    expect((await fetch(`${server.url}/v1/tokens`, { headers: bearer(issued.token) })).status).toBe(403);
    const listed = (await (await adminFetch(`${server.url}/v1/tokens`)).json()) as { tokens: Record<string, unknown>[] };
    const entry = listed.tokens.find((token) => token.id === issued.id);
    expect(entry).toMatchObject({ role: 'operator', label: 'night shift' });
    // Secrets are shown once, at issue: never listed.
    expect(JSON.stringify(listed)).not.toContain(issued.token);
  });

  it('sends security headers and no CORS headers to another origin', async () => {
    const page = await fetch(`${server.url}/operator`, { headers: { origin: 'https://evil.example' } });
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${server.url}/v1/streams`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('private streams', () => {
  it('are watched only through a signed viewer link: API, WHEP, HLS, stats and chat', async () => {
    const stream = await createStream(server.url, 'members only', { visibility: 'private' });
    expect(stream.visibility).toBe('private');
    const link = stream.viewerLink!;
    expect(stream.urls.watch).toBe(link.url);
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    await publisher.start();
    try {
      // Without the link: refused everywhere a viewer goes.
      expect(await errorOf(await fetch(`${server.url}/v1/streams/${stream.id}`))).toMatchObject({ status: 401, code: 'unauthorized' });
      await waitFor('the HLS playlist', async () => ((await adminFetch(`${server.url}/hls/${stream.id}/index.m3u8`)).ok ? true : undefined), 20_000);
      expect((await fetch(`${server.url}/hls/${stream.id}/index.m3u8`)).status).toBe(401);
      await expect(new WhepClient(`${server.url}/whep/${stream.id}`, false).start()).rejects.toThrow(/401/);
      const anonymousLive = await connect('/live');
      expect(await anonymousLive.emitWithAck('subscribe', { streamId: stream.id })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      anonymousLive.close();
      const anonymousChat = await connect('/audience');
      expect(await anonymousChat.emitWithAck('join', { streamId: stream.id, name: 'lurker' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      anonymousChat.close();

      // With it: everything a viewer needs, HLS segments included.
      expect((await fetch(`${server.url}/v1/streams/${stream.id}`, { headers: bearer(link.token) })).status).toBe(200);
      const playlist = await (await fetch(`${server.url}/hls/${stream.id}/index.m3u8?token=${encodeURIComponent(link.token)}`)).text();
      const segment = playlist.split('\n').find((line) => line.startsWith('segment-'));
      expect(segment).toContain(`?token=${encodeURIComponent(link.token)}`);
      expect((await fetch(`${server.url}/hls/${stream.id}/${segment}`)).status).toBe(200);
      expect((await fetch(`${server.url}/hls/${stream.id}/${segment!.split('?')[0]}`)).status).toBe(401);
      const viewer = new WhepClient(`${server.url}/whep/${stream.id}?token=${encodeURIComponent(link.token)}`, false);
      await viewer.start();
      await waitFor('frames over WebRTC with the link', () => (viewer.accessUnits > 5 ? true : undefined), 20_000);
      await viewer.stop();
      const live = await connect('/live', link.token);
      expect(await live.emitWithAck('subscribe', { streamId: stream.id })).toMatchObject({ ok: true });
      live.close();
      const chat = await connect('/audience', link.token);
      expect(await chat.emitWithAck('join', { streamId: stream.id, name: 'member' })).toMatchObject({ ok: true });
      chat.close();
      // A link of this stream opens no other private stream, and controls nothing.
      const another = await createStream(server.url, 'another', { visibility: 'private' });
      expect(await errorOf(await fetch(`${server.url}/v1/streams/${another.id}`, { headers: bearer(link.token) }))).toMatchObject({ status: 403, code: 'forbidden' });
      expect((await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, { headers: bearer(link.token) })).status).toBe(403);

      // New links from the stream's operator; rotating the key refuses every link handed out.
      const fresh = await fetch(`${server.url}/v1/streams/${stream.id}/viewer-links`, { method: 'POST', headers: jsonHeaders(stream.operatorToken), body: '{"ttlS":120}' });
      expect(fresh.status).toBe(201);
      const tooShort = await fetch(`${server.url}/v1/streams/${stream.id}/viewer-links`, { method: 'POST', headers: jsonHeaders(stream.operatorToken), body: '{"ttlS":5}' });
      expect(await errorOf(tooShort)).toMatchObject({ status: 400, code: 'invalid_request' });
      expect((await adminFetch(`${server.url}/v1/auth/viewer-key/rotate`, { method: 'POST' })).status).toBe(200);
      expect(await errorOf(await fetch(`${server.url}/v1/streams/${stream.id}`, { headers: bearer(link.token) }))).toMatchObject({ status: 401, code: 'invalid_token' });
    } finally {
      await publisher.stop();
    }
  }, 90_000);
});

describe('sockets and the streamer', () => {
  it('refuses the operator console without an operator token, and disconnects a socket whose token is revoked', async () => {
    await expect(connect('/operator')).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(connect('/operator', 'lfx_op_forged')).rejects.toMatchObject({ code: 'invalid_token' });
    const stream = await createStream(server.url, 'console');
    const other = await createStream(server.url, 'someone else');
    const socket = await connect('/operator', stream.operatorToken);
    expect(await socket.emitWithAck('join', { streamId: stream.id })).toMatchObject({ ok: true });
    expect(await socket.emitWithAck('join', { streamId: other.id })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    // Nor moderate another stream's chat, over the socket or HTTP.
    expect(await socket.emitWithAck('ban-viewer', { streamId: other.id, viewerId: 'viewer-0123456789abcdef' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await socket.emitWithAck('watch-moderation', { streamId: other.id })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const foreignBan = await fetch(`${server.url}/v1/streams/${other.id}/moderation/ban-viewer`, { method: 'POST', headers: jsonHeaders(stream.operatorToken), body: '{"viewerId":"viewer-0123456789abcdef"}' });
    expect(foreignBan.status).toBe(403);
    const dropped = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
    await adminFetch(`${server.url}/v1/tokens/${stream.operatorTokenId}`, { method: 'DELETE' });
    expect(await dropped).toBe('io server disconnect');
  });

  it('revoking the stream key disconnects the publisher and refuses the old key', async () => {
    const stream = await createStream(server.url, 'stolen key');
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    await publisher.start();
    try {
      await waitFor('the stream to go live', async () => ((await (await adminFetch(`${server.url}/v1/streams/${stream.id}`)).json()).state === 'live' ? true : undefined), 20_000);
      const revoked = await fetch(`${server.url}/v1/streams/${stream.id}/key`, { method: 'DELETE', headers: bearer(stream.operatorToken) });
      const body = await revoked.json();
      expect(body).toMatchObject({ disconnected: true });
      expect(body.streamKey).not.toBe(stream.streamKey);
      expect((await (await adminFetch(`${server.url}/v1/streams/${stream.id}`)).json()).state).toBe('ended');
      const again = await fetch(`${server.url}/whip/${stream.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp', ...bearer(stream.streamKey) }, body: 'v=0\r\n' });
      expect(await errorOf(again)).toMatchObject({ status: 401, code: 'unauthorized' });
    } finally {
      await publisher.stop();
    }
  }, 60_000);
});

/** Runs the built server until it prints its banner (or exits); returns what it printed and the exit code if it ended. */
async function bootOnce(env: Record<string, string>): Promise<{ output: string; code: number | null; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'server', 'main.js')], { env: { ...process.env, PORT: '0', LIVEFX_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (exitCode) => resolve(exitCode));
    const timer = setInterval(() => {
      if (/data directory:/.test(output)) {
        clearInterval(timer);
        resolve(null);
      }
    }, 50);
    child.once('exit', () => clearInterval(timer));
  });
  return {
    output,
    code,
    stop: async () => {
      if (child.exitCode !== null) return;
      await new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      });
    },
  };
}

describe('start-up', () => {
  it('refuses to bind beyond loopback without LIVEFX_ADMIN_TOKEN', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-bind-'));
    try {
      const run = await bootOnce({ HOST: '0.0.0.0', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: '' });
      expect(run.code).toBe(2);
      expect(run.output).toContain('HOST: binding to 0.0.0.0 exposes livefx beyond this machine: set LIVEFX_ADMIN_TOKEN');
      const short = await bootOnce({ HOST: '127.0.0.1', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: 'short' });
      expect(short.code).toBe(2);
      expect(short.output).toContain('LIVEFX_ADMIN_TOKEN: must be at least 24 characters');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('generates an admin token on the first start, prints it once, and `livefx admin-token --rotate` replaces it', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-first-'));
    try {
      const first = await bootOnce({ HOST: '127.0.0.1', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: '' });
      await first.stop();
      const token = /ADMIN TOKEN[^\n]*\n\s+(lfx_adm_\S+)/.exec(first.output)?.[1];
      expect(token, first.output).toBeDefined();
      const second = await bootOnce({ HOST: '127.0.0.1', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: '' });
      try {
        expect(second.output).not.toContain(token);
        expect(second.output).not.toContain('ADMIN TOKEN');
        const url = /livefx is running at (\S+)/.exec(second.output)![1]!;
        expect((await fetch(`${url}/v1/streams`, { headers: bearer(token!) })).status).toBe(200);
        const rotated = await promisify(execFile)(process.execPath, [path.join(projectRoot, 'bin', 'livefx.js'), 'admin-token', '--rotate'], { env: { ...process.env, LIVEFX_DATA_DIR: dataDir } });
        const fresh = rotated.stdout.trim();
        expect(fresh).toMatch(/^lfx_adm_/);
        expect((await fetch(`${url}/v1/streams`, { headers: bearer(token!) })).status).toBe(401);
        expect((await fetch(`${url}/v1/streams`, { headers: bearer(fresh) })).status).toBe(200);
      } finally {
        await second.stop();
      }
      const usage = await promisify(execFile)(process.execPath, [path.join(projectRoot, 'bin', 'livefx.js'), 'admin-token'], { env: { ...process.env, LIVEFX_DATA_DIR: dataDir } }).catch((error: { code: number; stderr: string }) => error);
      expect((usage as { code: number }).code).toBe(2);
      expect((usage as { stderr: string }).stderr).toContain('say --rotate');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('serves HTTPS from certificate files, with HSTS', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'livefx-tls-'));
    try {
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
      const run = await bootOnce({ HOST: '127.0.0.1', LIVEFX_DATA_DIR: path.join(dir, 'data'), LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_TLS_CERT: cert, LIVEFX_TLS_KEY: key });
      try {
        const url = /livefx is running at (\S+)/.exec(run.output)?.[1];
        expect(url, run.output).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const ca = await readFile(cert);
        const answer = await new Promise<{ status: number; hsts: string | undefined; body: string }>((resolve, reject) => {
          const request = httpsRequest(`${url}/healthz`, { ca }, (response) => {
            let body = '';
            response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, hsts: response.headers['strict-transport-security'] as string | undefined, body }));
          });
          request.on('error', reject);
          request.end();
        });
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toMatchObject({ ok: true });
        expect(answer.hsts).toContain('max-age=');
      } finally {
        await run.stop();
      }
      const half = await bootOnce({ HOST: '127.0.0.1', LIVEFX_DATA_DIR: path.join(dir, 'data'), LIVEFX_TLS_CERT: cert });
      expect(half.code).toBe(2);
      expect(half.output).toContain('LIVEFX_TLS_KEY: HTTPS needs both LIVEFX_TLS_CERT and LIVEFX_TLS_KEY');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
