import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_TOKEN_HEADER, MediaToken } from '../core/cluster-media/media-token.js';
import { RemoteMedia } from '../core/cluster-media/remote-media.js';
import { createLogger } from '../core/logger.js';
import { frameRgb, runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { highlightShowEvents, SHOW_S } from './helpers/highlight-fixture.js';
import { ADMIN_TOKEN, adminFetch as fetch, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { freePort, PostgresServer } from './helpers/postgres-server.js';
import { startRedis, type RunningRedis } from './helpers/redis-server.js';
import { startWorker, type RunningCli } from './helpers/worker-process.js';

// A node and a `livefx worker` that share no disk: each has its own LIVEFX_DATA_DIR; they share Redis
// (jobs) and PostgreSQL (catalog and stores), and the worker moves media over the node's internal routes.
const SECRET = 'media-between-machines-secret-0123456789';
let redis: RunningRedis;
let postgres: PostgresServer;
let databaseUrl: string;
let scratch: string;
let video: string;
let nodeDir: string;
let workerDir: string;
let port: number;
let node: RunningServer;
let worker: RunningCli;

interface JobView {
  id: string;
  status: string;
  error?: string | null;
  result?: { clips: { file: string }[]; file?: string } | null;
}

const nodeEnv = (): Record<string, string> => ({
  PORT: String(port),
  LIVEFX_NODE_URL: `http://127.0.0.1:${port}`,
  LIVEFX_DATA_DIR: nodeDir,
  LIVEFX_DATABASE_URL: databaseUrl,
  LIVEFX_REDIS_URL: redis.url,
  LIVEFX_WORKERS: 'external',
  LIVEFX_INTERNAL_SECRET: SECRET,
  LIVEFX_JOB_LOCK_S: '3',
  LIVEFX_JOB_ATTEMPTS: '5',
});

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${node.url}${route}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function importVideo(title: string): Promise<string> {
  const form = new FormData();
  form.set('media', new Blob([await readFile(video)], { type: 'video/mp4' }), 'show.mp4');
  form.set('title', title);
  form.set('events', JSON.stringify(highlightShowEvents()));
  const response = await fetch(`${node.url}/v1/recordings`, { method: 'POST', body: form });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

const settled = (route: string, timeoutMs = 120_000): Promise<JobView> =>
  waitFor(`${route} to finish`, async () => {
    const job = await api('GET', route).catch(() => undefined);
    return job && ['done', 'failed', 'cancelled'].includes(job.body?.status) ? (job.body as JobView) : undefined;
  }, timeoutMs, 250);

const running = (route: string): Promise<unknown> => waitFor(`${route} running on the worker`, async () => (await api('GET', route)).body.status === 'running' || undefined, 60_000, 100);

async function fileBytes(url: string): Promise<number> {
  const response = await fetch(`${node.url}${url}`);
  expect(response.status, url).toBe(200);
  return (await response.arrayBuffer()).byteLength;
}

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedis(), PostgresServer.create()]);
  databaseUrl = await postgres.createDatabase('media');
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-media-machines-'));
  nodeDir = path.join(scratch, 'node');
  workerDir = path.join(scratch, 'worker');
  video = path.join(scratch, 'show.mp4');
  const half = SHOW_S / 2;
  await runFfmpeg(['-f', 'lavfi', '-i', `testsrc2=s=320x180:r=15:d=${half}`, '-f', 'lavfi', '-i', `smptebars=s=320x180:r=15:d=${half}`, '-f', 'lavfi', '-i', `sine=f=300:d=${SHOW_S}`, '-filter_complex', '[0][1]concat=n=2:v=1:a=0[v]', '-map', '[v]', '-map', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-c:a', 'aac', '-shortest', video]);
  port = await freePort();
  node = await startServer(nodeEnv());
  worker = await startWorker({ LIVEFX_REDIS_URL: redis.url, LIVEFX_DATABASE_URL: databaseUrl, LIVEFX_DATA_DIR: workerDir, LIVEFX_INTERNAL_SECRET: SECRET, LIVEFX_JOB_LOCK_S: '3', LIVEFX_JOB_ATTEMPTS: '5', LIVEFX_MEDIA_RETRY_S: '120' });
}, 120_000);

afterAll(async () => {
  await worker?.stop('SIGKILL');
  const code = await node?.stop();
  await Promise.all([redis?.close(), postgres?.close()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code, node?.output()).toBe(0);
});

describe('media between machines: a worker with its own data directory', () => {
  it('runs a highlights job queued on the node, reading the recording over HTTP; the node serves the clips it uploaded', async () => {
    const recordingId = await importVideo('highlights elsewhere');
    const posted = await api('POST', '/v1/video/highlights', { recording_id: recordingId, k: 2 });
    expect(posted.status).toBe(202);
    const job = await settled(`/v1/video/highlights/${posted.body.id}`);
    expect(job.status, JSON.stringify(job)).toBe('done');
    expect(job.result!.clips.length).toBeGreaterThan(0);
    for (const clip of job.result!.clips) expect(await fileBytes(clip.file)).toBeGreaterThan(1000);
    // The outputs live on the node; the worker kept only its cache of the recording's media, never a recording folder.
    expect(existsSync(path.join(nodeDir, 'highlights', job.id, 'clip-1.mp4'))).toBe(true);
    expect(existsSync(path.join(workerDir, 'highlights', job.id))).toBe(false);
    expect(existsSync(path.join(workerDir, 'recordings', recordingId))).toBe(false);
    const cached = (await readdir(path.join(workerDir, 'media-cache'))).filter((name) => !name.endsWith('.json'));
    const sizes = await Promise.all(cached.map(async (name) => (await stat(path.join(workerDir, 'media-cache', name))).size));
    const nodeFiles = (await readdir(path.join(nodeDir, 'recordings', recordingId))).filter((name) => name.endsWith('.mp4'));
    const nodeSizes = await Promise.all(nodeFiles.map(async (name) => (await stat(path.join(nodeDir, 'recordings', recordingId, name))).size));
    expect(sizes.filter((size) => nodeSizes.includes(size)), `cache ${sizes} vs node ${nodeSizes}`).not.toEqual([]);
    expect(worker.output()).toMatch(/job outputs published to their node/);
  }, 400_000);

  it('runs a studio render queued on the node (a recording and an uploaded image as inputs); the node serves the video', async () => {
    const recordingId = await importVideo('render elsewhere');
    const logo = path.join(scratch, 'logo.png');
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=blue:s=320x180', '-frames:v', '1', logo]);
    const form = new FormData();
    form.append('file', new Blob([await readFile(logo)]), 'logo.png');
    expect((await fetch(`${node.url}/v1/images`, { method: 'POST', body: form })).status).toBe(201);
    const planned = await api('POST', '/v1/video/storyboards', { prompt: 'a short cut', sources: { recording_ids: [recordingId] } });
    expect(planned.status, JSON.stringify(planned.body)).toBe(201);
    const shots = [
      { index: 0, start: 0, duration: 3, kind: 'clip', source: { recording_id: recordingId, in: 10, out: 13 }, reasons: [] },
      { index: 1, start: 3, duration: 2, kind: 'image', source: { asset_id: 'logo.png' }, reasons: [] },
    ];
    expect((await api('PATCH', `/v1/video/storyboards/${planned.body.id}`, { shots, music: null, voiceover: null })).status).toBe(200);
    const posted = await api('POST', '/v1/video/renders', { storyboard_id: planned.body.id });
    expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    const render = await settled(`/v1/video/renders/${posted.body.id}`, 180_000);
    expect(render.status, JSON.stringify(render)).toBe('done');
    expect(await fileBytes(`/v1/video/renders/${render.id}/files/video.mp4`)).toBeGreaterThan(1000);
    expect(existsSync(path.join(nodeDir, 'studio', 'renders', render.id, 'manifest.json'))).toBe(true);
    expect(existsSync(path.join(workerDir, 'studio', 'renders', render.id))).toBe(false);
  }, 400_000);

  it('renders a look whose LUT and overlay image live only on the node: the worker fetches them, and the frames show both', async () => {
    const recordingId = await importVideo('look elsewhere');
    // A LUT that turns every colour red, and a green mark drawn over the top-left corner.
    const lut = `LUT_3D_SIZE 2\n${'1 0 0\n'.repeat(8)}`;
    const mark = path.join(scratch, 'mark.png');
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=0x00ff00:s=32x32', '-frames:v', '1', mark]);
    const upload = async (route: string, name: string, bytes: Buffer): Promise<number> => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)]), name);
      return (await fetch(`${node.url}${route}`, { method: 'POST', body: form })).status;
    };
    expect(await upload('/v1/luts', 'red.cube', Buffer.from(lut))).toBe(201);
    expect(await upload('/v1/images', 'mark.png', await readFile(mark))).toBe(201);
    const spec = { transforms: [{ name: 'lut3d', params: { file: 'red.cube' } }, { name: 'image', params: { file: 'mark.png', position: 'top-left', scale: 0.2 } }] };
    expect((await api('PUT', '/v1/presets/red-mark', spec)).status).toBe(201);
    const planned = await api('POST', '/v1/video/storyboards', { prompt: 'a red cut', sources: { recording_ids: [recordingId] } });
    expect(planned.status, JSON.stringify(planned.body)).toBe(201);
    const shots = [{ index: 0, start: 0, duration: 3, kind: 'clip', source: { recording_id: recordingId, in: 10, out: 13 }, reasons: [] }];
    const patched = await api('PATCH', `/v1/video/storyboards/${planned.body.id}`, { shots, style: 'red-mark', aspect: '16:9', duration_s: 5, captions: false, music: null, voiceover: null });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const posted = await api('POST', '/v1/video/renders', { storyboard_id: planned.body.id });
    expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    const render = await settled(`/v1/video/renders/${posted.body.id}`, 180_000);
    expect(render.status, JSON.stringify(render)).toBe('done');

    const output = path.join(scratch, 'red-mark.mp4');
    const response = await fetch(`${node.url}/v1/video/renders/${render.id}/files/video.mp4`);
    expect(response.status).toBe(200);
    await writeFile(output, Buffer.from(await response.arrayBuffer()));
    // The mean colour of a 3×3 block of a 64×36 picture.
    const block = (rgb: Buffer, x: number, y: number): number[] => {
      const sum = [0, 0, 0];
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) for (let c = 0; c < 3; c++) sum[c]! += rgb[((y + dy) * 64 + x + dx) * 3 + c]!;
      return sum.map((value) => Math.round(value / 9));
    };
    const rendered = frameRgb(output, 1.5, 64, 36);
    const source = frameRgb(video, 11.5, 64, 36);
    const isRed = ([r, g, b]: number[]): boolean => r! > 170 && g! < 90 && b! < 90;
    // Without the look the same moment of the recording is not red; with it the picture is, and the mark is green.
    expect(isRed(block(source, 32, 18)), `source ${block(source, 32, 18)}`).toBe(false);
    expect(isRed(block(rendered, 32, 18)), `rendered centre ${block(rendered, 32, 18)}`).toBe(true);
    const [r, g, b] = block(rendered, 9, 7);
    expect(g! > 170 && r! < 90 && b! < 90, `rendered mark ${[r, g, b]}`).toBe(true);
    // The worker read them from the node, not from a data directory of its own.
    expect(existsSync(path.join(workerDir, 'luts', 'red.cube'))).toBe(false);
    expect(existsSync(path.join(workerDir, 'images', 'mark.png'))).toBe(false);
  }, 400_000);

  it('fails a render whose look names a LUT its node does not have, naming the file', async () => {
    const recordingId = await importVideo('look missing');
    expect((await api('PUT', '/v1/presets/gone-lut', { transforms: [{ name: 'lut3d', params: { file: 'gone.cube' } }] })).status).toBe(201);
    const planned = await api('POST', '/v1/video/storyboards', { prompt: 'a missing look', sources: { recording_ids: [recordingId] } });
    const shots = [{ index: 0, start: 0, duration: 2, kind: 'clip', source: { recording_id: recordingId, in: 1, out: 3 }, reasons: [] }];
    expect((await api('PATCH', `/v1/video/storyboards/${planned.body.id}`, { shots, style: 'gone-lut', duration_s: 5, music: null, voiceover: null })).status).toBe(200);
    const posted = await api('POST', '/v1/video/renders', { storyboard_id: planned.body.id });
    expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    const render = await settled(`/v1/video/renders/${posted.body.id}`, 180_000);
    expect(render.status).toBe('failed');
    expect(JSON.stringify(render)).toMatch(/asset_not_found.*gone\.cube/);
  }, 400_000);

  it('opens the internal media routes only to a signed, unexpired media token for that path', async () => {
    const recordingId = await importVideo('tokens');
    const route = `${node.url}/internal/media/recordings/${recordingId}/original`;
    const scope = `recordings/${recordingId}/original`;
    const ours = new MediaToken({ secret: SECRET });
    const refused = async (headers: Record<string, string>): Promise<string> => {
      const response = await globalThis.fetch(route, { headers });
      expect(response.status).toBe(401);
      return ((await response.json()) as { error: { code: string } }).error.code;
    };
    expect(await refused({})).toBe('unauthorized');
    expect(await refused({ authorization: `Bearer ${ADMIN_TOKEN}` })).toBe('unauthorized');
    expect(await refused({ [MEDIA_TOKEN_HEADER]: new MediaToken({ secret: 'another-cluster-secret-0123456789' }).sign('media-read', scope) })).toBe('invalid_token');
    expect(await refused({ [MEDIA_TOKEN_HEADER]: ours.sign('media-read', 'recordings/another/original') })).toBe('invalid_token');
    expect(await refused({ [MEDIA_TOKEN_HEADER]: ours.sign('media-write', scope) })).toBe('invalid_token');
    expect(await refused({ [MEDIA_TOKEN_HEADER]: ours.sign('media-read', scope, Date.now() - 10 * 60_000) })).toBe('invalid_token');
    // A resumed download: the rest of the file from a byte offset, with the ETag that pins the version.
    const ranged = await globalThis.fetch(route, { headers: { [MEDIA_TOKEN_HEADER]: ours.sign('media-read', scope), range: 'bytes=1000-' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('etag')).toBeTruthy();
    const total = Number(/^bytes 1000-\d+\/(\d+)$/.exec(ranged.headers.get('content-range') ?? '')?.[1]);
    expect(total).toBeGreaterThan(1000);
    expect((await ranged.arrayBuffer()).byteLength).toBe(total - 1000);
  });

  it('resumes a download cut mid-file from the byte it reached (Range + If-Range), and the file arrives whole', async () => {
    const recordingId = await importVideo('cut connection');
    const cacheDir = path.join(scratch, 'resume-cache');
    // A TCP relay in front of the node that cuts the first connection after 300 kB of its answer, once the
    // client has written most of them to its partial file (cut sooner, fetch may drop bytes it buffered).
    const partBytes = async (): Promise<number> => {
      const names = (await readdir(cacheDir).catch(() => [] as string[])).filter((name) => name.endsWith('.part'));
      const sizes = await Promise.all(names.map(async (name) => (await stat(path.join(cacheDir, name)).catch(() => undefined))?.size ?? 0));
      return Math.max(0, ...sizes);
    };
    const heads: string[] = [];
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const index = heads.push('') - 1;
      const upstream = connect(port, '127.0.0.1');
      sockets.add(client).add(upstream);
      let relayed = 0;
      client.on('data', (chunk) => {
        heads[index] += chunk.toString('latin1');
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (index === 0 && relayed + chunk.length > 300_000) {
          client.write(chunk.subarray(0, 300_000 - relayed));
          // Nothing more is read from the node; both sides go once the client holds the bytes (or after 30 s).
          upstream.pause();
          relayed = Infinity;
          void waitFor('the client to write what it got', async () => ((await partBytes()) >= 200_000 ? true : undefined), 30_000, 20)
            .catch(() => undefined)
            .finally(() => {
              client.destroy();
              upstream.destroy();
            });
          return;
        }
        if (relayed === Infinity) return;
        relayed += chunk.length;
        client.write(chunk);
      });
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', () => resolve()));
    const relayPort = (relay.address() as AddressInfo).port;
    try {
      const remote = new RemoteMedia({ token: new MediaToken({ secret: SECRET }), cacheDir, retryS: 60, log: createLogger('silent') });
      const fetched = await remote.recording(`http://127.0.0.1:${relayPort}`, recordingId, 'original', new AbortController().signal);
      const folder = path.join(nodeDir, 'recordings', recordingId);
      const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
      const onNode = await Promise.all((await readdir(folder)).filter((name) => name.endsWith('.mp4')).map(async (name) => sha256(await readFile(path.join(folder, name)))));
      expect(fetched.bytes).toBeGreaterThan(300_000);
      expect(onNode).toContain(sha256(await readFile(fetched.file)));
      const resumed = heads.find((head) => /^range: bytes=(\d+)-\r$/im.test(head));
      expect(resumed, heads.join('\n---\n')).toBeDefined();
      expect(Number(/^range: bytes=(\d+)-/im.exec(resumed!)![1])).toBeGreaterThan(100_000);
      expect(resumed).toMatch(/^if-range: "/im);
    } finally {
      // Kept-alive connections would hold close() open: they go first.
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('keeps its media cache under its size limit, evicting the least recently used file', async () => {
    const [older, newer] = [await importVideo('cached first'), await importVideo('cached second')];
    const cacheDir = path.join(scratch, 'small-cache');
    const remote = new RemoteMedia({ token: new MediaToken({ secret: SECRET }), cacheDir, retryS: 60, cacheMaxBytes: 1, cacheGraceMs: 0, log: createLogger('silent') });
    const origin = `http://127.0.0.1:${port}`;
    const signal = new AbortController().signal;
    try {
      const first = await remote.recording(origin, older, 'original', signal);
      expect(existsSync(first.file)).toBe(true);
      const second = await remote.recording(origin, newer, 'original', signal);
      // Over the limit with both: the one used longer ago went, the one just fetched stays.
      expect(existsSync(first.file)).toBe(false);
      expect(existsSync(second.file)).toBe(true);
      // Asked again, the evicted one is downloaded whole again.
      expect((await remote.recording(origin, older, 'original', signal)).bytes).toBe(first.bytes);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('Idempotency-Key on the job POSTs holds across nodes (the same body gets the first job, another body 422 idempotency_key_reused), and the other node serves the results', async () => {
    const recordingId = await importVideo('idempotent');
    // Another node with its own data directory: it serves the results of jobs enqueued on the first one too,
    // and a job enqueued on it reads the recording from the node that imported it (the catalog row names that node).
    const otherPort = await freePort();
    const other = await startServer({ PORT: String(otherPort), LIVEFX_NODE_URL: `http://127.0.0.1:${otherPort}`, LIVEFX_DATABASE_URL: databaseUrl, LIVEFX_REDIS_URL: redis.url, LIVEFX_WORKERS: 'external', LIVEFX_INTERNAL_SECRET: SECRET });
    try {
      const post = async (server: RunningServer, route: string, key: string, body: unknown): Promise<{ status: number; body: any; replayed: string | null }> => {
        const response = await fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });
        return { status: response.status, body: await response.json(), replayed: response.headers.get('idempotent-replayed') };
      };
      const key = `retry-${recordingId}`;
      const first = await post(node, '/v1/video/highlights', key, { recording_id: recordingId, k: 1 });
      expect(first.status).toBe(202);
      // The same body through the other node, keys in another order: the first job, said to be a replay.
      const again = await post(other, '/v1/video/highlights', key, { k: 1, recording_id: recordingId });
      expect(again).toMatchObject({ status: 202, replayed: 'true' });
      expect(again.body.id).toBe(first.body.id);
      const reused = await post(other, '/v1/video/highlights', key, { recording_id: recordingId, k: 2 });
      expect(reused.status).toBe(422);
      expect(reused.body.error.code).toBe('idempotency_key_reused');
      expect(reused.body.error.message).toContain(first.body.id);
      // A job enqueued on the node that does not hold the recording: the worker reads the media from the holder.
      const elsewhere = await post(other, '/v1/video/highlights', `elsewhere-${recordingId}`, { recording_id: recordingId, k: 1 });
      expect(elsewhere.status).toBe(202);
      // Two nodes enqueueing the same new key at the same moment: one job, both told its id.
      const together = await Promise.all([node, other].map((server) => post(server, '/v1/video/highlights', `together-${recordingId}`, { recording_id: recordingId, k: 1 })));
      expect(together.map((answer) => answer.status)).toEqual([202, 202]);
      expect(together[1]!.body.id).toBe(together[0]!.body.id);
      expect((await api('GET', '/v1/video/highlights')).body.jobs.filter((job: JobView) => job.id === together[0]!.body.id)).toHaveLength(1);

      const planned = await api('POST', '/v1/video/storyboards', { prompt: 'idempotent render', sources: { recording_ids: [recordingId] } });
      const render = await post(node, '/v1/video/renders', `render-${recordingId}`, { storyboard_id: planned.body.id });
      expect(render.status).toBe(202);
      const renderAgain = await post(other, '/v1/video/renders', `render-${recordingId}`, { storyboard_id: planned.body.id });
      expect(renderAgain.body.id).toBe(render.body.id);
      const renderReused = await post(node, '/v1/video/renders', `render-${recordingId}`, { storyboard_id: planned.body.id, quality: 'high' });
      expect(renderReused.status).toBe(422);
      expect(renderReused.body.error.code).toBe('idempotency_key_reused');
      expect((await api('GET', '/v1/video/renders')).body.renders.filter((job: JobView) => job.id === render.body.id)).toHaveLength(1);
      // Settled before the next test kills the node (one worker: the next job waits behind these).
      const highlights = await settled(`/v1/video/highlights/${first.body.id}`);
      expect(highlights.status, JSON.stringify(highlights)).toBe('done');
      const joint = await settled(`/v1/video/highlights/${together[0]!.body.id}`);
      expect(joint.status, JSON.stringify(joint)).toBe('done');
      const fromOther = await settled(`/v1/video/highlights/${elsewhere.body.id}`);
      expect(fromOther.status, JSON.stringify(fromOther)).toBe('done');
      // Its outputs went to the node that enqueued it; the holder of the recording relays them.
      const clip = fromOther.result!.clips[0]!.file;
      const onOther = Buffer.from(await (await fetch(`${other.url}${clip}`)).arrayBuffer());
      expect(onOther.byteLength).toBeGreaterThan(10_000);
      expect(Buffer.from(await (await fetch(`${node.url}${clip}`)).arrayBuffer()).equals(onOther)).toBe(true);
      const rendered = await settled(`/v1/video/renders/${render.body.id}`, 180_000);
      expect(rendered.status, JSON.stringify(rendered)).toBe('done');
      // Any node serves any job's results: the other node relays the files from the node that holds them, Range included.
      for (const file of [highlights.result!.clips[0]!.file, `/v1/video/renders/${render.body.id}/files/video.mp4`]) {
        const held = Buffer.from(await (await fetch(`${node.url}${file}`)).arrayBuffer());
        const relayed = await fetch(`${other.url}${file}`);
        expect(relayed.status, file).toBe(200);
        expect(Buffer.from(await relayed.arrayBuffer()).equals(held), file).toBe(true);
        const part = await fetch(`${other.url}${file}`, { headers: { range: 'bytes=100-199' } });
        expect(part.status).toBe(206);
        expect(Buffer.from(await part.arrayBuffer()).equals(held.subarray(100, 200))).toBe(true);
      }
      const missing = await fetch(`${other.url}/v1/video/renders/${render.body.id}/files/nothing.mp4`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as any).error.code).toBe('file_not_found');
    } finally {
      expect(await other.stop()).toBe(0);
    }
  }, 400_000);

  it('a node killed (kill -9) while its job runs on the worker: the worker waits for it, the job finishes and its files are served when the node is back', async () => {
    const recordingId = await importVideo('node dies');
    const posted = await api('POST', '/v1/video/highlights', { recording_id: recordingId, k: 3 });
    await running(`/v1/video/highlights/${posted.body.id}`);
    const killed = node;
    const seen = worker.output().length;
    killed.process.kill('SIGKILL');
    await waitFor('the worker to find the node gone', () => /node unreachable: retrying the job media transfer/.test(worker.output().slice(seen)) || undefined, 90_000, 100);
    node = await startServer(nodeEnv());
    // The killed process's own scratch folder (its data lives in nodeDir).
    await rm(killed.dataDir, { recursive: true, force: true });
    const job = await settled(`/v1/video/highlights/${posted.body.id}`);
    expect(job.status, JSON.stringify(job)).toBe('done');
    for (const clip of job.result!.clips) expect(await fileBytes(clip.file)).toBeGreaterThan(1000);
  }, 400_000);

  it('PostgreSQL restarted mid-job: the API answers 503 store_unavailable while it is down; the job and the API recover by themselves', async () => {
    const recordingId = await importVideo('postgres restarts');
    const posted = await api('POST', '/v1/video/highlights', { recording_id: recordingId, k: 2 });
    await running(`/v1/video/highlights/${posted.body.id}`);
    await postgres.stop();
    const down = await api('GET', '/v1/recordings');
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('store_unavailable');
    await postgres.start();
    const job = await settled(`/v1/video/highlights/${posted.body.id}`);
    expect(job.status, JSON.stringify(job)).toBe('done');
    await waitFor('the recordings API answering again', async () => (await api('GET', '/v1/recordings')).status === 200 || undefined, 30_000, 250);
    expect(await fileBytes(job.result!.clips[0]!.file)).toBeGreaterThan(1000);
  }, 400_000);
});
