import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/chromium.js';
import { WhepClient } from './helpers/whep-client.js';
import { WhipClient } from './helpers/whip-client.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { goLive } from './helpers/browser-pages.js';

let server: RunningServer;
let scratch: string;

beforeAll(async () => {
  server = await startServer({ LIVEFX_MEDIA_TIMEOUT_S: '3' });
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-recorder-test-'));
});

afterAll(async () => {
  const code = await server.stop('SIGTERM');
  await rm(scratch, { recursive: true, force: true });
  expect(code, server.output()).toBe(0);
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function json(response: Response): Promise<any> {
  return response.json();
}

async function recordingsOf(streamId: string): Promise<any[]> {
  return (await json(await fetch(`${server.url}/v1/recordings?streamId=${streamId}`))).recordings;
}

async function events(id: string, query = ''): Promise<any[]> {
  const response = await fetch(`${server.url}/v1/recordings/${id}/events${query}`);
  expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  return (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

/** ffprobe's view of a downloaded file: container duration and each stream's codec. */
function probe(file: string): { durationS: number; codecs: Record<string, string> } {
  const result = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', file], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as { format: { duration: string }; streams: { codec_type: string; codec_name: string }[] };
  return { durationS: Number(parsed.format.duration), codecs: Object.fromEntries(parsed.streams.map((stream) => [stream.codec_type, stream.codec_name])) };
}

/** Seconds between the first and last video packet of every segment file of one kind. */
async function segmentSpans(recordingId: string, kind: string): Promise<number[]> {
  const dir = path.join(server.dataDir, 'recordings', recordingId, kind);
  const spans: number[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const result = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path.join(dir, name)], { encoding: 'utf8' });
    const times = result.stdout.split('\n').filter(Boolean).map(Number);
    spans.push(Math.max(...times) - Math.min(...times));
  }
  return spans;
}

describe('recorder: a live session is recorded with its events and served as single files', () => {
  let recording: any;
  let chainChangedAt = 0;
  let viewerJoinedAt = 0;
  let viewerLeftAt = 0;
  let chattedAt = 0;
  let streamId = '';

  it('records a 10 s session (original + transformed), refusing export and delete while live', async () => {
    const stream = await createStream(server.url, 'recorded show');
    streamId = stream.id;
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    await publisher.start();
    const live = await waitFor('a recording in progress', async () => (await recordingsOf(stream.id))[0]);
    expect(live).toMatchObject({ streamId: stream.id, title: 'recorded show', state: 'recording' });
    const startedMs = Date.parse(live.startedAt);

    await sleep(2500);
    const viewer = new WhepClient(`${server.url}/whep/${stream.id}`, false);
    await viewer.start();
    viewerJoinedAt = (Date.now() - startedMs) / 1000;
    await sleep(1500);
    const put = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transforms: [{ name: 'color', params: { brightness: 0.2 } }] }),
    });
    expect(put.status).toBe(200);
    chainChangedAt = (Date.now() - startedMs) / 1000;
    const audience = io(`${server.url}/audience`, { transports: ['websocket'] });
    expect((await audience.timeout(5000).emitWithAck('join', { streamId: stream.id, name: 'ann' })).ok).toBe(true);
    expect((await audience.timeout(5000).emitWithAck('chat', { streamId: stream.id, text: 'hello <b>there</b>' })).ok).toBe(true);
    chattedAt = (Date.now() - startedMs) / 1000;
    expect((await audience.timeout(5000).emitWithAck('react', { streamId: stream.id, kind: 'wow' })).ok).toBe(true);
    audience.close();
    await sleep(1500);
    await viewer.stop();
    viewerLeftAt = (Date.now() - startedMs) / 1000;

    const busyMedia = await fetch(`${server.url}/v1/recordings/${live.id}/media/original`);
    expect(busyMedia.status).toBe(409);
    expect((await json(busyMedia)).error.code).toBe('recording_in_progress');
    const busyDelete = await fetch(`${server.url}/v1/recordings/${live.id}`, { method: 'DELETE' });
    expect(busyDelete.status).toBe(409);
    expect((await json(busyDelete)).error.code).toBe('recording_in_progress');

    await sleep(Math.max(0, 10_000 - (Date.now() - startedMs)));
    await publisher.stop();
    recording = await waitFor('the recording to complete', async () => {
      const current = await json(await fetch(`${server.url}/v1/recordings/${live.id}`));
      return current.state === 'complete' ? current : undefined;
    });
    expect(recording).toMatchObject({
      id: live.id,
      streamId: stream.id,
      media: { original: `/v1/recordings/${live.id}/media/original`, transformed: `/v1/recordings/${live.id}/media/transformed` },
      counts: { chat: 1, reactions: 1, transcriptWords: 0 },
    });
    expect(recording.durationS).toBeGreaterThan(9.5);
    expect(recording.durationS).toBeLessThan(13);
    for (const kind of ['original', 'transformed']) {
      const spans = await segmentSpans(live.id, kind);
      expect(spans.length, kind).toBeGreaterThanOrEqual(3);
      expect(Math.max(...spans), `${kind} segments span ${spans.join(', ')} s`).toBeLessThanOrEqual(4);
    }
  }, 60_000);

  it('logs state changes, the operator chain change and viewer counts on the session clock', async () => {
    const all = await events(recording.id);
    expect(all[0]).toMatchObject({ t: 0, type: 'state', state: 'live' });
    expect(all.at(-1)).toMatchObject({ type: 'state', state: 'ended' });
    expect(all.at(-1).t).toBeCloseTo(recording.durationS, 1);
    const times = all.map((event) => event.t);
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const chain = all.filter((event) => event.type === 'chain');
    expect(chain).toHaveLength(1);
    expect(chain[0].changedBy).toMatch(/^http /);
    expect(chain[0].transforms).toEqual([{ name: 'color', enabled: true, params: expect.objectContaining({ brightness: 0.2 }) }]);
    expect(Math.abs(chain[0].t - chainChangedAt)).toBeLessThan(1);

    const viewers = all.filter((event) => event.type === 'viewers');
    expect(viewers.map((event) => event.count)).toEqual([0, 1, 0]);
    expect(Math.abs(viewers[1].t - viewerJoinedAt)).toBeLessThan(1);
    expect(Math.abs(viewers[2].t - viewerLeftAt)).toBeLessThan(1);

    const [chat] = all.filter((event) => event.type === 'chat');
    expect(chat).toMatchObject({ type: 'chat', user: 'ann', text: 'hello <b>there</b>' });
    expect(Math.abs(chat.t - chattedAt)).toBeLessThan(1);
    expect(all.filter((event) => event.type === 'reaction')).toEqual([{ t: expect.any(Number), type: 'reaction', user: 'ann', kind: 'wow' }]);

    // Filters: by type (comma list) and by time range.
    expect((await events(recording.id, '?type=chain,viewers')).map((event) => event.type)).toEqual(['viewers', 'viewers', 'chain', 'viewers']);
    const window = await events(recording.id, `?from=${viewers[1].t}&to=${viewers[2].t}`);
    // Live signals for highlights (one video batch a second) interleave with everything else.
    expect(window.some((event) => event.type === 'signal')).toBe(true);
    expect(window.filter((event) => event.type !== 'signal').map((event) => event.type)).toEqual(['viewers', 'chain', 'chat', 'reaction', 'viewers']);
    const bad = await fetch(`${server.url}/v1/recordings/${recording.id}/events?from=-3`);
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.code).toBe('invalid_query');
  });

  it('serves both media as single files (whole and by range) that ffprobe reads, with the session duration', async () => {
    for (const kind of ['original', 'transformed'] as const) {
      const response = await fetch(`${server.url}${recording.media[kind]}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('video/mp4');
      expect(response.headers.get('accept-ranges')).toBe('bytes');
      const body = Buffer.from(await response.arrayBuffer());
      expect(Number(response.headers.get('content-length'))).toBe(body.length);
      const file = path.join(scratch, `${kind}.mp4`);
      await writeFile(file, body);
      const probed = probe(file);
      // The original is what the publisher sent (H.264), copied; the transformed is the encoder's H.264.
      expect(probed.codecs.video).toBe('h264');
      expect(Math.abs(probed.durationS - recording.durationS), `${kind} lasts ${probed.durationS} s`).toBeLessThan(1);

      const ranged = await fetch(`${server.url}${recording.media[kind]}`, { headers: { range: 'bytes=100-1099' } });
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe(`bytes 100-1099/${body.length}`);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(body.subarray(100, 1100))).toBe(true);
      const tail = await fetch(`${server.url}${recording.media[kind]}`, { headers: { range: 'bytes=-500' } });
      expect(tail.status).toBe(206);
      expect(Buffer.from(await tail.arrayBuffer()).equals(body.subarray(body.length - 500))).toBe(true);
      const past = await fetch(`${server.url}${recording.media[kind]}`, { headers: { range: `bytes=${body.length}-` } });
      expect(past.status).toBe(416);
      expect(past.headers.get('content-range')).toBe(`bytes */${body.length}`);
      expect((await json(past)).error.code).toBe('range_not_satisfiable');
    }
  }, 60_000);

  it('lists recordings by stream and date, and answers bad ids and kinds with 404', async () => {
    expect((await recordingsOf(streamId)).map((entry) => entry.id)).toEqual([recording.id]);
    const before = new Date(Date.parse(recording.startedAt) - 60_000).toISOString();
    const after = new Date(Date.parse(recording.startedAt) + 60_000).toISOString();
    const inWindow = (await json(await fetch(`${server.url}/v1/recordings?from=${before}&to=${after}`))).recordings;
    expect(inWindow.map((entry: any) => entry.id)).toContain(recording.id);
    const later = (await json(await fetch(`${server.url}/v1/recordings?from=${after}`))).recordings;
    expect(later.map((entry: any) => entry.id)).not.toContain(recording.id);
    const badDate = await fetch(`${server.url}/v1/recordings?from=yesterday`);
    expect(badDate.status).toBe(400);

    const missing = await fetch(`${server.url}/v1/recordings/nope`);
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ error: { code: 'recording_not_found', message: 'no recording with id "nope"' } });
    expect((await fetch(`${server.url}/v1/recordings/nope/events`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/recordings/nope/media/original`)).status).toBe(404);
    const badKind = await fetch(`${server.url}/v1/recordings/${recording.id}/media/raw`);
    expect(badKind.status).toBe(404);
    expect((await json(badKind)).error.code).toBe('media_not_found');
    expect((await fetch(`${server.url}/v1/recordings/nope`, { method: 'DELETE' })).status).toBe(404);
  });

  it('deletes a finished recording', async () => {
    const deleted = await fetch(`${server.url}/v1/recordings/${recording.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect((await fetch(`${server.url}/v1/recordings/${recording.id}`)).status).toBe(404);
    expect(await recordingsOf(streamId)).toEqual([]);
  });

  it('records nothing for a stream created with "record": false', async () => {
    const response = await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'off the record', record: false }) });
    expect(response.status).toBe(201);
    const stream = await json(response);
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    await publisher.start();
    await waitFor('the stream to be live', async () => (await json(await fetch(`${server.url}/v1/streams/${stream.id}`))).state === 'live' || undefined);
    await sleep(2000);
    await publisher.stop();
    expect(await recordingsOf(stream.id)).toEqual([]);
    const bad = await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'x', record: 'no' }) });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.message).toMatch(/^record:/);
  }, 30_000);
});

// The werift WHIP client sends video only; Chromium's publish page (test pattern with a beep each second) sends Opus too.
describe('recorder: a browser publisher with audio', () => {
  it.each(['H264', 'VP8'] as const)('records the Opus audio beside %s video in both media, stream-copied', async (codec) => {
    const browser = await launchChromium();
    try {
      const stream = await createStream(server.url, 'browser recorded');
      const page = await browser.newPage();
      // The page prefers H.264; offering only the codec under test makes Chromium send it.
      await page.addInitScript((wanted: string) => {
        const original = RTCRtpTransceiver.prototype.setCodecPreferences;
        RTCRtpTransceiver.prototype.setCodecPreferences = function (codecs) {
          const kept = [...codecs].filter((entry) => !entry.mimeType.startsWith('video/') || entry.mimeType === `video/${wanted}`);
          return original.call(this, kept);
        };
      }, codec);
      await goLive(page, `${server.url}${stream.urls.publish}&source=pattern`);
      await expect.poll(() => page.getByTestId('stats').textContent(), { timeout: 10_000 }).toMatch(/Codec(H264|VP8)/);
      const sentCodec = /Codec(H264|VP8)/.exec((await page.getByTestId('stats').textContent())!)![1]!;
      expect(sentCodec).toBe(codec);
      await sleep(8000);
      await fetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE' });
      const [entry] = await recordingsOf(stream.id);
      const done = await waitFor('the recording to complete', async () => {
        const current = await json(await fetch(`${server.url}/v1/recordings/${entry.id}`));
        return current.state === 'complete' ? current : undefined;
      });
      for (const kind of ['original', 'transformed'] as const) {
        // Chromium sends keyframes rarely; the recorder asks for one so that no segment runs past 4 s.
        const spans = await segmentSpans(done.id, kind);
        expect(spans.length, kind).toBeGreaterThanOrEqual(2);
        expect(Math.max(...spans), `${kind} segments span ${spans.join(', ')} s`).toBeLessThanOrEqual(4);
        const response = await fetch(`${server.url}${done.media[kind]}`);
        expect(response.status).toBe(200);
        // ffmpeg's MP4 muxer takes no VP8: a VP8 original is served as WebM.
        const webm = kind === 'original' && sentCodec === 'VP8';
        expect(response.headers.get('content-type')).toBe(webm ? 'video/webm' : 'video/mp4');
        const file = path.join(scratch, `browser-${kind}.${webm ? 'webm' : 'mp4'}`);
        await writeFile(file, Buffer.from(await response.arrayBuffer()));
        const probed = probe(file);
        expect(probed.codecs).toEqual({ video: kind === 'original' ? sentCodec.toLowerCase() : 'h264', audio: 'opus' });
        expect(Math.abs(probed.durationS - done.durationS), `${kind} lasts ${probed.durationS} s`).toBeLessThan(1);
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});
