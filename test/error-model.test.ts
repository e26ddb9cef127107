// The one error model, from the outside: every route and socket event that can refuse is walked
// against a real server process, and every refusal must have the documented shape, a code from the
// catalogue (core/errors.ts) and that code's HTTP status; the README's table lists exactly the catalogue.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createStream, projectRoot, startServer, type RunningServer } from './helpers/livefx-process.js';
import { ERROR_CODES, isErrorCode, statusOf } from '../core/errors.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { LivefxServer } from '../server/livefx-server.js';

/** Routes whose only refusals are access control's: pages, health, whoami, metrics and the lists that take no query; and the media routes' CORS preflights (any origin by default). */
const NEVER_REFUSING_ROUTES = [
  ...[
    ...['/', '/publish', '/watch', '/embed', '/operator', '/review', '/healthz', '/vendor/hls.min.js', '/v1/transforms', '/v1/auth/whoami', '/metrics', '/studio', '/v1/provenance/key', '/readyz', '/v1/nodes'],
    ...['/v1/streams', '/v1/tokens', '/v1/presets', '/v1/luts', '/v1/images', '/v1/music', '/v1/video/highlights', '/v1/video/storyboards', '/v1/video/templates', '/v1/video/renders'],
  ].map((route) => `GET ${route}`),
  ...['/whip/:id', '/whip/:id/:session', '/whep/:id', '/whep/:id/:session', '/hls/:id/:file'].map((route) => `OPTIONS ${route}`),
];
/** Socket events that cannot refuse: `time` answers the server clock to anyone; any operator may list presets. */
const NEVER_REFUSING_EVENTS = ['/live time', '/operator list-presets'];
const NAMESPACES = ['/operator', '/audience', '/live'] as const;
const RESERVED_EVENTS = new Set(['disconnect', 'disconnecting', 'error']);

interface Surface {
  routes: { method: string; url: string }[];
  events: Record<(typeof NAMESPACES)[number], string[]>;
}

/** Every route and socket event the server registers, read from a throwaway in-process server (so a new one is walked without touching this test). */
async function serverSurface(): Promise<Surface> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-surface-'));
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_LOG_LEVEL: 'silent', LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_RECORD_MIN_FREE_MB: '0' });
  const server = new LivefxServer({ config, log: createLogger('silent') });
  const routes: Surface['routes'] = [];
  server.http.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method: String(method), url: route.url ?? route.path });
  });
  const sockets: Socket[] = [];
  try {
    const { url } = await server.start();
    const events = {} as Surface['events'];
    for (const namespace of NAMESPACES) {
      const socket = io(`${url}${namespace}`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'], reconnection: false });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const serverSocket = server.io.of(namespace).sockets.get(socket.id!)!;
      events[namespace] = serverSocket.eventNames().map(String).filter((event) => !RESERVED_EVENTS.has(event));
    }
    const unique = new Map(routes.filter((route) => route.method !== 'HEAD').map((route) => [`${route.method} ${route.url}`, route]));
    return { routes: [...unique.values()], events };
  } finally {
    for (const socket of sockets) socket.close();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Why a refusal is not in the model's shape, or undefined when it is. */
function httpProblem(status: number, body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `status ${status} with a body that is not JSON: ${body.slice(0, 120)}`;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.message !== 'string' || error.message === '') return `status ${status} without a message: ${body.slice(0, 160)}`;
  if (!isErrorCode(error.code)) return `status ${status} with code ${JSON.stringify(error.code)}, which is not in ERROR_CODES`;
  if (statusOf(error.code) !== status) return `code ${error.code} came with status ${status}; the catalogue maps it to ${statusOf(error.code)}`;
  if (status >= 500) return `status ${status} ${error.code}: a refusal is a 4xx (503 for capacity); this is a bug`;
  return undefined;
}

/** One request on a connection of its own, written as given; the status and body of the answer. */
function rawRequest(url: string, request: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => {}); // the server closes the connection after its answer
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
      if (!status) return reject(new Error(`no HTTP answer: ${answer.slice(0, 120)}`));
      resolve({ status, body: answer.slice(answer.indexOf('\r\n\r\n') + 4) });
    });
    socket.write(request);
  });
}

function ackProblem(ack: unknown): string | undefined {
  const refusal = ack as { ok?: unknown; error?: { code?: unknown; message?: unknown } } | null;
  if (refusal?.ok !== false) return `not a refusal: ${JSON.stringify(ack)?.slice(0, 160)}`;
  if (typeof refusal.error?.message !== 'string' || refusal.error.message === '') return `refusal without a message: ${JSON.stringify(ack).slice(0, 160)}`;
  if (!isErrorCode(refusal.error.code)) return `code ${JSON.stringify(refusal.error.code)} is not in ERROR_CODES`;
  if (refusal.error.code === 'internal_error') return `internal_error: ${refusal.error.message}`;
  return undefined;
}

let surface: Surface;
let server: RunningServer;
let streamId: string;

beforeAll(async () => {
  surface = await serverSurface();
  // Rate limits off: a 429 is a clean refusal, but it would answer in place of the refusal each request is meant for.
  server = await startServer({ LIVEFX_HTTP_RATE_PER_IP: '0', LIVEFX_HTTP_RATE_PER_TOKEN: '0', LIVEFX_HLS_RATE_PER_IP: '0', LIVEFX_SOCKET_MESSAGES_PER_S: '0' });
  streamId = (await createStream(server.url, 'error model')).id;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('one error model', () => {
  it('lists every code of ERROR_CODES in the README table with its HTTP status, and no other', async () => {
    const readme = await readFile(path.join(projectRoot, 'README.md'), 'utf8');
    const section = /^### Error codes\n([\s\S]*?)(?=^#{2,3} )/m.exec(readme)?.[1];
    expect(section, 'README has a "### Error codes" section').toBeDefined();
    const rows = [...section!.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((match) => [match[1]!, Number(match[2])] as const);
    expect(rows.map(([code]) => code).sort()).toEqual([...ERROR_CODES].sort());
    for (const [code, status] of rows) expect(status, code).toBe(statusOf(code as (typeof ERROR_CODES)[number]));
  });

  it('refuses on every route that can refuse with { error: { code, message } }, a catalogued code and its status', async () => {
    const problems: string[] = [];
    const refused = new Set<string>();
    const codes = new Set<string>();
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const send = async (route: { method: string; url: string }, pathname: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<void> => {
      const response = await fetch(`${server.url}${pathname}`, { method: route.method, headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) });
      const body = await response.text();
      if (response.status < 400) return;
      // Counted when the route's own checks refused: access control refuses every route alike.
      if (init.headers?.authorization === admin.authorization) refused.add(`${route.method} ${route.url}`);
      const problem = httpProblem(response.status, body);
      if (!problem) codes.add(`${response.status} ${(JSON.parse(body) as { error: { code: string } }).error.code}`);
      if (problem) problems.push(`${route.method} ${pathname} → ${problem}`);
    };
    const fill = (url: string, id: string): string =>
      url.replace(':id', id).replace(':session', 'no-such-session').replace(':index', '99').replace(':name', 'no-such-file.cube').replace(':kind', 'no-such-kind').replace(':file', 'no-such-file').replace(':rank', '99').replace('*', 'no-such-file');
    const withBody = (method: string): boolean => method !== 'GET' && method !== 'DELETE';
    for (const route of surface.routes) {
      const unknown = fill(route.url, 'no-such-id');
      if (route.method === 'OPTIONS') {
        // A CORS preflight from a page on an origin LIVEFX_CORS_ORIGINS does not name.
        await send(route, unknown, { headers: { ...admin, origin: 'https://not-listed.example', 'access-control-request-method': 'POST' } });
        continue;
      }
      // Ending the stream would turn the other refusals of its routes into stream_ended: DELETEs name nothing that exists.
      const known = route.method === 'DELETE' ? unknown : fill(route.url, streamId);
      await send(route, unknown);
      await send(route, unknown, { headers: { authorization: 'Bearer not-a-token' } });
      await send(route, unknown, { headers: admin });
      if (withBody(route.method)) {
        await send(route, known, { headers: { ...admin, 'content-type': 'application/json' }, body: '{"unexpected": true}' });
        await send(route, known, { headers: { ...admin, 'content-type': 'application/json' }, body: '{"unexpected": ' });
        await send(route, known, { headers: { ...admin, 'content-type': 'text/plain' }, body: 'plain text' });
        await send(route, known, { headers: { ...admin, 'content-type': 'application/xml' }, body: '<stream/>' });
        await send(route, known, { headers: { ...admin, 'content-type': 'multipart/form-data' }, body: 'no boundary' });
      } else {
        await send(route, `${known}?from=not-a-date&to=&format=nope&source=nope`, { headers: admin });
      }
    }
    // What the router and Node's HTTP parser refuse before any route runs.
    const any = { method: 'GET', url: '(router)' };
    await send(any, '/v1/streams/%E0%A4%A');
    await send(any, `/v1/streams/${'x'.repeat(101)}`, { headers: admin });
    await send(any, '/no/such/route');
    // Node answers a parser refusal only on a connection that has been sent nothing yet: a fresh one, not fetch's pooled ones.
    const raw = await rawRequest(server.url, `GET /v1/streams HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Large: ${'x'.repeat(20_000)}\r\n\r\n`);
    const problem = httpProblem(raw.status, raw.body);
    if (problem) problems.push(`oversized headers → ${problem}`);
    else codes.add(`${raw.status} ${(JSON.parse(raw.body) as { error: { code: string } }).error.code}`);

    expect(problems, problems.join('\n')).toEqual([]);
    const silent = surface.routes.map((route) => `${route.method} ${route.url}`).filter((route) => !refused.has(route));
    expect(silent.sort(), 'routes whose own checks refused nothing: add a request that makes them refuse, or list them as never refusing').toEqual([...NEVER_REFUSING_ROUTES].sort());
    // The walk reached past access control: refusals of each kind were seen.
    for (const code of ['401 unauthorized', '401 invalid_token', '404 stream_not_found', '400 invalid_request', '415 unsupported_media_type', '400 invalid_multipart', '400 invalid_url', '414 path_too_long', '404 not_found', '431 headers_too_large', '403 origin_not_allowed']) {
      expect([...codes], code).toContain(code);
    }
  }, 60_000);

  it('refuses on every socket event that can refuse with { ok: false, error: { code, message } } and a catalogued code', async () => {
    const problems: string[] = [];
    const refused = new Set<string>();
    const messages = [undefined, 'garbage', { streamId: 'no-such-stream' }, { streamId: streamId }, { streamId, name: '' }, { streamId, extra: true }];
    for (const namespace of NAMESPACES) {
      const socket = io(`${server.url}${namespace}`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'], reconnection: false });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        });
        for (const event of [...surface.events[namespace], 'no-such-event']) {
          for (const message of messages) {
            const ack = (await socket.timeout(5000).emitWithAck(event, message)) as { ok?: boolean };
            if (ack?.ok !== false) continue;
            refused.add(`${namespace} ${event}`);
            const problem = ackProblem(ack);
            if (problem) problems.push(`${namespace} ${event} ${JSON.stringify(message)} → ${problem}`);
          }
        }
      } finally {
        socket.close();
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
    const all = NAMESPACES.flatMap((namespace) => [...surface.events[namespace], 'no-such-event'].map((event) => `${namespace} ${event}`));
    expect(all.filter((event) => !refused.has(event)).sort()).toEqual([...NEVER_REFUSING_EVENTS].sort());
  }, 60_000);
});
