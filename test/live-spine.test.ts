import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhepClient } from './helpers/whep-client.js';
import { WhipClient } from './helpers/whip-client.js';
import { captureMsDelta } from '../transforms/burn-in-layout.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, ffmpegChildren, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ LIVEFX_MEDIA_TIMEOUT_S: '3' });
});

afterAll(async () => {
  const code = await server.stop('SIGTERM');
  expect(code, server.output()).toBe(0);
});

async function json(response: Response): Promise<any> {
  return response.json();
}

describe('HTTP API contract', () => {
  it('creates, lists, reads and ends streams', async () => {
    const created = await createStream(server.url, 'Morning show');
    expect(created.id).toMatch(/^[0-9a-f]{12}$/);
    expect(created.streamKey.length).toBeGreaterThanOrEqual(20);
    expect(created.urls).toEqual({
      publish: `/publish?stream=${created.id}&key=${created.streamKey}`,
      watch: `/watch?stream=${created.id}`,
      watchHls: `/watch?stream=${created.id}&mode=hls`,
      operator: `/operator?stream=${created.id}&token=${created.operatorToken}`,
    });
    const one = await json(await fetch(`${server.url}/v1/streams/${created.id}`));
    expect(one).toMatchObject({
      id: created.id,
      title: 'Morning show',
      state: 'idle',
      stats: { width: 0, height: 0, fpsIn: 0, fpsOut: 0, framesDropped: 0, stageMs: { decode: 0, transforms: 0, encode: 0 }, viewers: { webrtc: 0, hls: 0 } },
    });
    expect(JSON.stringify(one)).not.toContain(created.streamKey);
    const list = await json(await fetch(`${server.url}/v1/streams`));
    expect(list.streams.map((stream: { id: string }) => stream.id)).toContain(created.id);
    const ended = await fetch(`${server.url}/v1/streams/${created.id}`, { method: 'DELETE' });
    expect(ended.status).toBe(200);
    expect((await json(ended)).state).toBe('ended');
  });

  it('refuses bad input with a JSON error that names the problem', async () => {
    const noTitle = await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(noTitle.status).toBe(400);
    expect((await json(noTitle)).error.message).toMatch(/^title:/);
    const badJson = await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":' });
    expect(badJson.status).toBe(400);
    expect((await json(badJson)).error.code).toBeTruthy();
    const extra = await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"x","evil":1}' });
    expect(extra.status).toBe(400);
    const unknown = await fetch(`${server.url}/v1/streams/nope`);
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ error: { code: 'stream_not_found', message: 'no stream with id "nope"' } });
    const noRoute = await fetch(`${server.url}/v1/nothing-here`);
    expect(noRoute.status).toBe(404);
  });

  it('refuses WHIP with a wrong or missing key, a non-SDP body, or an oversized offer', async () => {
    const stream = await createStream(server.url);
    const whip = (headers: Record<string, string>, body: string) =>
      fetch(`${server.url}/whip/${stream.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body });
    const wrong = await whip({ authorization: 'Bearer not-the-key' }, 'v=0\r\n');
    expect(wrong.status).toBe(401);
    expect((await json(wrong)).error.message).toMatch(/stream key is wrong/);
    expect((await whip({}, 'v=0\r\n')).status).toBe(401);
    const garbage = await whip({ authorization: `Bearer ${stream.streamKey}` }, 'hello');
    expect(garbage.status).toBe(400);
    expect((await json(garbage)).error.code).toBe('invalid_sdp');
    const huge = await whip({ authorization: `Bearer ${stream.streamKey}` }, `v=0\r\n${'a=x\r\n'.repeat(20_000)}`);
    expect(huge.status).toBe(413);
    const unknownStream = await fetch(`${server.url}/whip/nope`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0' });
    expect(unknownStream.status).toBe(404);
    const state = await json(await fetch(`${server.url}/v1/streams/${stream.id}`));
    expect(state.state).toBe('idle');
    const socket = io(`${server.url}/live`, { transports: ['websocket'] });
    const ack = await socket.timeout(5000).emitWithAck('subscribe', { streamId: 'nope' });
    expect(ack).toEqual({ ok: false, error: { code: 'not_found', message: 'no stream with id "nope"' } });
    const malformed = await socket.timeout(5000).emitWithAck('subscribe', 'not an object');
    expect(malformed.ok).toBe(false);
    expect(malformed.error.code).toBe('bad_request');
    socket.close();
  });

  it('serves health and Prometheus metrics', async () => {
    expect(await json(await fetch(`${server.url}/healthz`))).toMatchObject({ ok: true });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('livefx_streams_live');
    expect(metrics).toContain('livefx_stage_seconds');
  });
});

describe('live spine: WHIP publisher → pipeline → WHEP viewer and HLS', () => {
  it('delivers processed frames to a WebRTC viewer, fills HLS, follows a resolution change, and frees every process', async () => {
    const stream = await createStream(server.url, 'spine');
    const states: string[] = [];
    const socket = io(`${server.url}/live`, { transports: ['websocket'] });
    socket.on('state', (message: { state: string }) => states.push(message.state));
    expect((await socket.timeout(5000).emitWithAck('subscribe', { streamId: stream.id })).ok).toBe(true);

    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 640, height: 360 });
    await publisher.start();
    await waitFor('state live', () => states.includes('live') || undefined);

    const second = await fetch(`${server.url}/whip/${stream.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${stream.streamKey}` },
      body: 'v=0\r\n',
    });
    expect(second.status).toBe(409);

    const viewer = new WhepClient(`${server.url}/whep/${stream.id}`);
    await viewer.start();
    await waitFor('decoded frames with a burn-in code', () => viewer.frames.filter((frame) => frame.code).length >= 30 || undefined, 20_000);
    // A viewer joining a running stream starts at a keyframe: nothing its decoder would have to throw away.
    const joiner = new WhepClient(`${server.url}/whep/${stream.id}`);
    try {
      await joiner.start();
      await waitFor('the second viewer\'s first frame', () => joiner.frames.length > 0 || undefined, 20_000);
      expect(joiner.firstVideoPacket).toBe('keyframe');
    } finally {
      await joiner.stop();
    }
    const coded = viewer.frames.filter((frame) => frame.code);
    // Frame numbers from the pipeline advance: the viewer sees processed frames, not a raw forward.
    const numbers = coded.map((frame) => frame.code!.frameNumber);
    expect(numbers.at(-1)! - numbers[0]!).toBeGreaterThanOrEqual(20);
    expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);
    const latencies = coded.map((frame) => captureMsDelta(frame.receivedMs, frame.code!.captureMsLow));
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...latencies)).toBeLessThan(1000);

    const view = await waitFor('stats', async () => {
      const current = await json(await fetch(`${server.url}/v1/streams/${stream.id}`));
      return current.stats.fpsOut > 0 ? current : undefined;
    });
    expect(view.state).toBe('live');
    expect(view.stats).toMatchObject({ width: 640, height: 360, viewers: { webrtc: 1, hls: 0 } });
    expect(view.stats.fpsIn).toBeGreaterThan(15);

    // HLS: the playlist appears and its segments are real H.264 at the stream's size.
    const playlist = await waitFor('HLS playlist with 2 segments', async () => {
      const response = await fetch(`${server.url}/hls/${stream.id}/index.m3u8`);
      if (!response.ok) return undefined;
      const text = await response.text();
      return (text.match(/segment-\d+\.ts/g) ?? []).length >= 2 ? text : undefined;
    }, 20_000);
    const segment = playlist.match(/segment-\d+\.ts/)![0];
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', `${server.url}/hls/${stream.id}/${segment}`]);
    expect(probe.stdout.toString()).toContain('h264,640,360');
    expect((await fetch(`${server.url}/hls/${stream.id}/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);

    // The publisher's picture changes size (a resized screen share): the pipeline follows.
    publisher.switchResolution(480, 270);
    await waitFor('480x270 frames at the viewer', async () => {
      const current = await json(await fetch(`${server.url}/v1/streams/${stream.id}`));
      return current.stats.width === 480 && current.stats.height === 270 ? true : undefined;
    }, 10_000);
    const afterResize = viewer.frames.length;
    await waitFor('coded frames after the resize', () => viewer.frames.slice(afterResize).filter((frame) => frame.code).length >= 10 || undefined, 10_000);

    // Three ffmpeg per stream (decoder, encoder, HLS); killing each is a fault test (test/faults/process-kills.test.ts).
    expect((await ffmpegChildren(server.process.pid!)).length).toBe(3);

    // The publisher vanishes without a goodbye: viewers learn the stream ended, and no ffmpeg is left.
    await publisher.vanish();
    await waitFor('state ended', () => states.includes('ended') || undefined, 8000);
    await waitFor('ffmpeg processes gone', async () => ((await ffmpegChildren(server.process.pid!)).length === 0 ? true : undefined), 8000);
    // The HLS folder goes once the muxer has exited, a moment after the last ffmpeg.
    await waitFor('HLS folder removed', async () => (!(await readdir(path.join(server.dataDir, 'hls')).catch(() => [] as string[])).includes(stream.id) ? true : undefined), 3000);
    await viewer.stop();
    socket.close();
  });

  it('runs independent streams at once, and a WHIP DELETE ends only its own stream', async () => {
    const streams = await Promise.all([createStream(server.url, 'one'), createStream(server.url, 'two')]);
    const publishers = streams.map((stream) => new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 }));
    await Promise.all(publishers.map((publisher) => publisher.start()));
    for (const stream of streams) {
      await waitFor(`stream ${stream.id} encoding`, async () => ((await json(await fetch(`${server.url}/v1/streams/${stream.id}`))).stats.fpsOut > 0 ? true : undefined), 15_000);
    }
    expect((await ffmpegChildren(server.process.pid!)).length).toBe(6);
    await publishers[0]!.stop();
    await waitFor('first ended', async () => ((await json(await fetch(`${server.url}/v1/streams/${streams[0]!.id}`))).state === 'ended' ? true : undefined));
    const other = await json(await fetch(`${server.url}/v1/streams/${streams[1]!.id}`));
    expect(other.state).toBe('live');
    await waitFor('three processes left', async () => ((await ffmpegChildren(server.process.pid!)).length === 3 ? true : undefined));
    await fetch(`${server.url}/v1/streams/${streams[1]!.id}`, { method: 'DELETE' });
    await publishers[1]!.vanish();
    await waitFor('no processes left', async () => ((await ffmpegChildren(server.process.pid!)).length === 0 ? true : undefined));
  });
});
