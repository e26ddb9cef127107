import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, FuzzSession, createStream, describeInput, rawRequest, responseProblem } from './fuzz-harness.js';
import { mediaFixtures, multipartBody, validChainSpec } from './fuzz-fixtures.js';
import { FUZZ_COUNT, TRAVERSALS, encodeLoose, runBounded, type FuzzInput } from './fuzz-input.js';
import { serverRoutes, type RouteEntry } from './route-list.js';

// Every HTTP route, enumerated from the server itself, gets malformed bodies, query strings and path
// parameters; every file-serving route gets path traversal and oversized requests.

let session: FuzzSession;
let routes: RouteEntry[];
/** Real ids, so that some inputs get past the "not found" checks into the handlers. */
const real: { stream: string; recording: string; job: string } = { stream: '', recording: '', job: '' };

beforeAll(async () => {
  routes = await serverRoutes();
  session = await FuzzSession.start('http');
  real.stream = (await createStream(session.server, 'fuzz idle')).id;
  const { mp4 } = await mediaFixtures(session.scratch);
  const form = multipartBody([{ name: 'media', filename: 'fixture.mp4', value: mp4, contentType: 'video/mp4' }, { name: 'title', value: 'fuzz recording' }]);
  const imported = await rawRequest(session.url, 'POST', '/v1/recordings', { headers: { ...AUTH, 'content-type': form.contentType }, body: form.body });
  expect(imported.status, imported.body.toString()).toBe(201);
  real.recording = JSON.parse(imported.body.toString()).id;
  const job = await fetch(`${session.url}/v1/video/highlights`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ recording_id: real.recording, k: 1, min_clip_s: 1, max_clip_s: 2 }) });
  expect(job.status).toBe(202);
  real.job = ((await job.json()) as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await session?.close();
});

const QUERY_KEYS = ['streamId', 'from', 'to', 'type', 'format', 'source', 'overwrite', 'stream', 'key', 'token', 'mode', 'job', '__proto__', 'constructor', 'a[b]', 'a.b', ''];

/** A real value for a route parameter (GET-like routes only), so the handler behind the lookup runs. */
function realParam(route: RouteEntry, name: string): string | undefined {
  if (name === 'id') {
    if (route.url.startsWith('/v1/recordings')) return real.recording;
    if (route.url.startsWith('/v1/video/highlights')) return real.job;
    if (route.url.startsWith('/hls/') || (route.url.startsWith('/whep/') && route.method === 'POST')) return session.background!.id;
    return real.stream;
  }
  return { kind: 'original', index: '0', rank: '1', file: 'index.m3u8', name: route.url.startsWith('/v1/presets') ? 'fuzz' : 'fuzz.cube', session: randomUUID(), '*': 'index.js' }[name];
}

/** A path segment as sent: percent-encoded, or raw with only what HTTP cannot carry encoded. */
function segment(input: FuzzInput, value: string): string {
  if (input.chance(0.5)) return encodeLoose(value);
  return value.replace(/[^\u0021-\u007e]|[?#]/g, (char) => encodeLoose(char));
}

function pathFor(route: RouteEntry, input: FuzzInput, fuzzParams: boolean): string {
  const destructive = route.method === 'DELETE';
  return route.url.replace(/:(\w+)|\*/g, (match, name?: string) => {
    const key = name ?? '*';
    const value = !fuzzParams || (!destructive && input.chance(0.3)) ? (destructive ? `fuzz-${input.int(0, 1e6)}` : realParam(route, key) ?? 'x') : input.chance(0.3) ? input.pick(TRAVERSALS) : input.string();
    return segment(input, value);
  });
}

function queryFor(input: FuzzInput): string {
  if (input.chance(0.1)) return `?${input.pick(['%zz', '&&&', '=', '?', 'a=%', `${'a='.repeat(2000)}`, 'a[b][c]=1', '__proto__[polluted]=1', 'from=1&from=2&from=3'])}`;
  const pairs: string[] = [];
  for (let count = input.int(1, 5); count > 0; count--) {
    const key = input.chance(0.7) ? input.pick(QUERY_KEYS) : input.string().slice(0, 50);
    pairs.push(`${encodeLoose(key)}=${encodeLoose(input.chance(0.5) ? input.string() : String(input.number()))}`);
  }
  return `?${pairs.join('&')}`;
}

/** The valid body of a route, for mutation. */
function validBody(route: RouteEntry): unknown {
  const url = route.url;
  if (url === '/v1/streams') return { title: 'fuzz', record: false };
  if (url.endsWith('/transforms') || url.startsWith('/v1/presets/')) return validChainSpec();
  if (url.endsWith('/transforms/:index')) return { enabled: false, params: { brightness: 0.1 } };
  if (url.endsWith('/transforms/preset')) return { name: 'fuzz' };
  if (url === '/v1/video/highlights') return { recording_id: real.recording, k: 2, min_clip_s: 1, max_clip_s: 5, quality: 'preview' };
  if (url.includes('/clips/')) return { review: 'approved', start: 0, end: 1 };
  return {};
}

function bodyFor(route: RouteEntry, input: FuzzInput): { body: Buffer | string; contentType: string | undefined } {
  const roll = input.int(0, 9);
  if (roll <= 4) return { body: JSON.stringify(input.mutateValue(validBody(route))) ?? 'null', contentType: 'application/json' };
  if (roll === 5) return { body: JSON.stringify(input.value(4)) ?? 'null', contentType: input.pick(['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON']) };
  if (roll === 6) return { body: input.deepNest(), contentType: 'application/json' };
  if (roll === 7) {
    const text = JSON.stringify(validBody(route));
    return { body: input.mutateBytes(Buffer.from(text)), contentType: 'application/json' };
  }
  if (roll === 8) return { body: input.bytes(input.int(0, 2000)), contentType: input.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/sdp', 'application/octet-stream', 'image/png', 'application/json; charset=utf-16', '', 'x/y; a=b']) };
  return { body: Buffer.alloc(input.pick([1024 * 1024 + 1, 3 * 1024 * 1024]), 0x20), contentType: input.pick(['application/json', 'application/sdp', 'text/plain']) };
}

/** Undoes what an accepted input created, so 3,000 inputs leave a server as light as it was. */
async function cleanUp(method: string, url: string, status: number, body: Buffer): Promise<void> {
  if (status >= 300) return;
  try {
    if (method === 'POST' && url === '/v1/streams') await fetch(`${session.url}/v1/streams/${JSON.parse(body.toString()).id}`, { method: 'DELETE', headers: AUTH });
    if (method === 'POST' && url === '/v1/video/highlights') await fetch(`${session.url}/v1/video/highlights/${JSON.parse(body.toString()).id}`, { method: 'DELETE', headers: AUTH });
  } catch {
    // the cleanup is best effort; the checks are on the fuzz answers
  }
}

describe('HTTP fuzz', () => {
  it('enumerates the routes from the server', () => {
    const names = routes.map((route) => `${route.method} ${route.url}`);
    // The enumeration must see the server's real routes, else the fuzz below would quietly cover nothing.
    for (const expected of ['POST /v1/streams', 'PUT /v1/streams/:id/transforms', 'GET /hls/:id/:file', 'POST /v1/recordings', 'GET /v1/video/highlights/:id/files/:name', 'POST /whip/:id', 'GET /assets/*']) {
      expect(names).toContain(expected);
    }
    expect(routes.length).toBeGreaterThan(30);
  });

  it(`answers ${FUZZ_COUNT} malformed bodies, ${FUZZ_COUNT} query strings and ${FUZZ_COUNT} path parameters with a 2xx or a clear 4xx`, async () => {
    const modes = ['body', 'query', 'params'] as const;
    const total = FUZZ_COUNT * modes.length;
    const warmUp = Math.min(150, Math.floor(total / 10));
    let done = 0;
    const one = async (index: number): Promise<void> => {
      // Each input from its own fork: the same seed gives the same inputs whatever order concurrency runs them in.
      const input = session.input.fork(`#${index}`);
      const mode = modes[index % modes.length]!;
      const route = routes[Math.floor(index / modes.length) % routes.length]!;
      const method = route.method;
      let rawPath = pathFor(route, input, mode === 'params');
      if (mode === 'query') rawPath += queryFor(input);
      const headers: Record<string, string | number> = { ...AUTH };
      let body: Buffer | string | undefined;
      if (mode === 'body' || (mode !== 'query' && input.chance(0.3))) {
        const generated = bodyFor(route, input);
        body = generated.body;
        if (generated.contentType !== undefined) headers['content-type'] = generated.contentType;
      }
      // Node's client cannot frame a body on HEAD; GET keeps one now and then.
      if (method === 'HEAD' || (method === 'GET' && input.chance(0.9))) body = undefined;
      if (body === undefined) delete headers['content-type'];
      // WHIP takes the stream key as its bearer: junk keys exercise that refusal too.
      if (route.url.startsWith('/whip/') && input.chance(0.5)) headers.authorization = input.chance(0.5) ? `Bearer ${input.string().replace(/[^\u0021-\u007e]/g, '')}` : 'Basic Zm9vOmJhcg==';
      const label = describeInput(index, `${method} ${rawPath.slice(0, 300)} [${mode}]`, body ?? '');
      try {
        const response = await rawRequest(session.url, method, rawPath, { headers, ...(body !== undefined ? { body } : {}) });
        session.check(response, label, method);
        await cleanUp(method, route.url, response.status, response.body);
      } catch (error) {
        // A body over the 1 MiB limit may be refused by closing the connection while it is still being sent.
        const code = (error as NodeJS.ErrnoException).code;
        if ((code === 'ECONNRESET' || code === 'EPIPE') && body !== undefined && body.length > 1024 * 1024) session.problems.count('reset while sending an oversized body');
        else {
          session.problems.count('no answer');
          session.problems.add('no answer', `${label} → ${(error as Error).message}`);
        }
      }
      if (++done === warmUp) await session.warmedUp();
    };
    await runBounded(total, 8, one);
    await session.finish('http', total);
  }, 180_000);

  it('refuses path traversal and oversized requests on every file-serving route with a 4xx', async () => {
    const background = session.background!.id;
    // Each file-serving route with a valid prefix; the traversal replaces (or follows) the file part.
    const fileRoutes: { route: string; prefix: string; valid: string }[] = [
      { route: '/hls/:id/:file', prefix: `/hls/${background}/`, valid: 'index.m3u8' },
      { route: '/hls/:id/:file (id)', prefix: '/hls/', valid: `${background}/index.m3u8` },
      { route: '/v1/recordings/:id/media/:kind', prefix: `/v1/recordings/${real.recording}/media/`, valid: 'original' },
      { route: '/v1/recordings/:id/media/:kind (id)', prefix: '/v1/recordings/', valid: `${real.recording}/media/original` },
      { route: '/v1/video/highlights/:id/files/:name', prefix: `/v1/video/highlights/${real.job}/files/`, valid: 'reel.mp4' },
      { route: '/v1/video/highlights/:id/files/:name (id)', prefix: '/v1/video/highlights/', valid: `${real.job}/files/reel.mp4` },
      { route: 'DELETE /v1/luts/:name', prefix: '/v1/luts/', valid: 'fuzz.cube' },
      { route: 'DELETE /v1/images/:name', prefix: '/v1/images/', valid: 'fuzz.png' },
      { route: '/assets/*', prefix: '/assets/', valid: 'watch.js' },
      { route: '/static/*', prefix: '/static/', valid: 'style.css' },
      { route: '/vendor/hls.min.js', prefix: '/vendor/', valid: 'hls.min.js' },
      { route: 'pages', prefix: '/watch/', valid: '' },
    ];
    const targets = ['livefx.db', 'etc/passwd', 'package.json', 'server/config.ts'];
    const attempts: { method: string; path: string; headers?: Record<string, string> }[] = [];
    for (const { route, prefix, valid } of fileRoutes) {
      const method = route.startsWith('DELETE') ? 'DELETE' : 'GET';
      for (const traversal of TRAVERSALS) {
        const raw = traversal.replace(/[^\u0021-\u00ff]/g, (char) => encodeURIComponent(char));
        attempts.push({ method, path: `${prefix}${raw}` });
        for (const target of targets) {
          attempts.push({ method, path: `${prefix}${raw.replace(/etc(%2f|\/)passwd|win\.ini|livefx\.db$/, target)}` });
          attempts.push({ method, path: `${prefix}${valid}/${raw}${target}` });
          attempts.push({ method, path: `${prefix}${encodeURIComponent(`../../${target}`)}` });
          attempts.push({ method, path: `${prefix}..%2f..%2f..%2f${encodeURIComponent(target)}` });
          attempts.push({ method, path: `${prefix}%2e%2e%5c%2e%2e%5c${encodeURIComponent(target)}` });
        }
      }
      // Oversized: names far past any limit, ranges past the end, and absurd ranges.
      for (const length of [300, 5000, 15_000]) attempts.push({ method, path: `${prefix}${'a'.repeat(length)}.ts` });
      if (method === 'GET') {
        for (const range of ['bytes=99999999999999-', 'bytes=-0', 'bytes=5-2', 'bytes=18446744073709551616-18446744073709551617', 'bytes=0-99999999999999999999999', 'bytes=--1', 'items=0-1']) {
          attempts.push({ method, path: `${prefix}${valid}`, headers: { range } });
        }
      }
    }
    const failures: string[] = [];
    let leaked = 0;
    await runBounded(attempts.length, 8, async (index) => {
      const attempt = attempts[index]!;
      const response = await rawRequest(session.url, attempt.method, attempt.path, { headers: { ...AUTH, ...attempt.headers } }).catch((error: Error) => ({ status: 0, headers: {}, body: Buffer.from(error.message) }));
      const text = response.body.toString('latin1');
      if (/root:x?:0:0|SQLite format 3|"name": "livefx"|LIVEFX_DATA_DIR|\[fonts\]/.test(text)) leaked++;
      const isRange = attempt.headers?.range !== undefined;
      // A range on a valid file may be served (200, 206) or refused (416); everything else must be a 4xx.
      const acceptable = isRange ? [200, 206, 404, 409, 416].includes(response.status) : response.status >= 400 && response.status < 500;
      const problem = response.status >= 400 ? responseProblem(response) : undefined;
      if (!acceptable || problem) failures.push(`${attempt.method} ${attempt.path.slice(0, 200)} ${JSON.stringify(attempt.headers ?? {})} → ${response.status} ${problem ?? text.slice(0, 120)}`);
    });
    console.log(`fuzz http: ${attempts.length} traversal and oversized requests on ${fileRoutes.length} file-serving routes`);
    expect(leaked, 'responses that leaked a file from outside the served folders').toBe(0);
    expect(failures.slice(0, 20), `${failures.length} of ${attempts.length} were not a clear 4xx`).toEqual([]);
    expect(attempts.length).toBeGreaterThan(1000);
  }, 120_000);
});
