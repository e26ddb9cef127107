import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { diesWithParent } from '../../core/process/dies-with-parent.js';
import { WhepClient } from '../helpers/whep-client.js';
import { WhipClient } from '../helpers/whip-client.js';
import { waitFor, type RunningServer } from '../helpers/livefx-process.js';
import { api, apiJson, childrenOf, createStream, sleep, socketOf, startFaultServer, type ChildProcessInfo } from './fault-server.js';

/** How long the stream is held over its deadline while the test watches. */
const OVERLOAD_S = 60;
/** Decoder kills spread over that time: each restarted decoder must resume at a keyframe. */
const DECODER_KILLS = 3;
/** The longest a viewer may go without a frame: a degraded stream shows a few frames a second; a stalled one none for good. */
const MAX_VIEWER_GAP_MS = 20_000;
/** /healthz answers in milliseconds when idle; this is the limit under the overload. */
const MAX_HEALTH_MS = 5000;
/**
 * Every costly stylization, toon and sketch twice, on a 1080p publisher: over a 33 ms frame interval
 * even at half resolution on an idle machine (about 2 × (6 + 6) ms there), so the test overloads anywhere.
 */
const HEAVY_CHAIN = [
  { name: 'toon' },
  { name: 'sketch' },
  { name: 'toon' },
  { name: 'sketch' },
  { name: 'grain' },
  { name: 'vignette' },
  { name: 'pixelate' },
  { name: 'color', params: { contrast: 1.2 } },
];

const isDecoder = (child: ChildProcessInfo): boolean => child.name === 'ffmpeg' && child.cmdline.includes('yuv4mpegpipe');

let server: RunningServer | undefined;
let hog: ChildProcess | undefined;
let publisher: WhipClient | undefined;
let viewer: WhepClient | undefined;
let operator: Socket | undefined;

afterAll(async () => {
  hog?.kill('SIGKILL');
  operator?.close();
  await viewer?.stop();
  await publisher?.stop();
  const code = await server?.stop('SIGTERM');
  expect(code, server?.output()).toBe(0);
});

/** Whether the server answers /healthz, and how fast (ms). */
async function healthMs(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(30_000) });
  expect(response.status).toBe(200);
  await response.text();
  return performance.now() - started;
}

describe('fault: a stream far over its deadline while the machine is busy', () => {
  it('degrades but never stalls: frames keep reaching the viewer, restarted decoders resume at a keyframe, the server answers', async () => {
    server = await startFaultServer({ LIVEFX_MEDIA_TIMEOUT_S: '20' });
    const serverPid = server.process.pid!;
    const stream = await createStream(server.url, 'overloaded');
    const chain = await api(`${server.url}/v1/streams/${stream.id}/transforms`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transforms: HEAVY_CHAIN }),
    });
    expect(chain.status, await chain.text()).toBe(200);
    // An operator console on the stream: it must hear that the stream sheds work.
    operator = socketOf(server.url, '/operator');
    const alerts: { streamId: string; code: string; message: string }[] = [];
    operator.on('alert', (alert) => alerts.push(alert));
    expect((await operator.timeout(10_000).emitWithAck('join', { streamId: stream.id })).ok).toBe(true);
    // A CPU hog of our own (its pid is ours to kill): one core busy with other work.
    hog = spawn(...diesWithParent('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-threads', '1', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=1000', '-threads', '1', '-f', 'null', '-']), { stdio: 'ignore' });
    publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1920, height: 1080, fps: 30, kbps: 4000 });
    await publisher.start();
    viewer = new WhepClient(`${server.url}/whep/${stream.id}`);
    await viewer.start();
    const frames = viewer.frames;
    await waitFor('the first frames at the viewer', () => frames.length >= 5 || undefined, 60_000);

    const startedMs = Date.now();
    const killEveryMs = (OVERLOAD_S * 1000) / (DECODER_KILLS + 1);
    let kills = 0;
    let longestGapMs = 0;
    let slowestHealthMs = 0;
    let sawDegradation = false;
    while (Date.now() - startedMs < OVERLOAD_S * 1000) {
      // Frames keep coming: wait for the next one, however long the chain makes us wait (up to the limit).
      const before = frames.length;
      const waitStart = Date.now();
      await waitFor(`a new frame at the viewer ${Math.round((Date.now() - startedMs) / 1000)} s into the overload`, () => frames.length > before || undefined, MAX_VIEWER_GAP_MS, 20);
      longestGapMs = Math.max(longestGapMs, Date.now() - waitStart);
      slowestHealthMs = Math.max(slowestHealthMs, await healthMs(server.url));
      const view = await apiJson(`${server.url}/v1/streams/${stream.id}`);
      expect(view.state).toBe('live');
      sawDegradation ||= view.stats.chain.degraded === true || view.stats.chain.halfResolution === true;
      if (kills < DECODER_KILLS && Date.now() - startedMs >= (kills + 1) * killEveryMs) {
        const decoder = (await childrenOf(serverPid)).find(isDecoder);
        if (decoder) {
          process.kill(decoder.pid, 'SIGKILL');
          kills++;
          await waitFor(`a new decoder after kill ${kills}`, async () => (await childrenOf(serverPid)).find((child) => isDecoder(child) && child.pid !== decoder.pid), 20_000, 50);
        }
      }
      await sleep(250);
    }
    expect(kills).toBe(DECODER_KILLS);
    // After the last kill, frames still come.
    const afterKills = frames.length;
    await waitFor('frames after the last decoder restart', () => frames.length >= afterKills + 5 || undefined, MAX_VIEWER_GAP_MS * 2);

    // The chain was really over its deadline (so this is the overload, not a quiet run).
    expect(sawDegradation).toBe(true);
    expect(longestGapMs).toBeLessThan(MAX_VIEWER_GAP_MS);
    expect(slowestHealthMs).toBeLessThan(MAX_HEALTH_MS);

    // Every decoder, the first and each restarted one, got a keyframe first (read from the frame's bytes),
    // and only the kills restarted it: a slow decoder is not taken for a stuck one.
    const metrics = await (await api(`${server.url}/metrics`)).text();
    const resumedAtKeyframe = Number(/^livefx_decoder_resumes_total\{first_frame="keyframe"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(metrics).not.toMatch(/^livefx_decoder_resumes_total\{first_frame="delta"\}/m);
    const output = server.output();
    const resumes = output.split('\n').filter((line) => line.includes('"msg":"decoder resumed at a keyframe"') && line.includes(`"streamId":"${stream.id}"`));
    const restartResumes = resumes.filter((line) => line.includes('"restart":true'));
    expect(output).not.toContain('decoder was given a delta frame first');
    expect(output).not.toMatch(/the decoder (returned no frame|wrote nothing)/);
    expect(restartResumes).toHaveLength(DECODER_KILLS);
    expect(resumedAtKeyframe).toBe(DECODER_KILLS + 1);
    // Each restart asked the publisher for a keyframe (PLI through the SFU).
    expect(publisher.keyframeRequests).toBeGreaterThanOrEqual(DECODER_KILLS);
    const alert = await waitFor('an overload alert at the operator console', () => alerts.find((entry) => entry.code === 'stream_overloaded' && entry.streamId === stream.id), 30_000);
    expect(alert.message).toMatch(/^stream overloaded: /);

    const view = await apiJson(`${server.url}/v1/streams/${stream.id}`);
    const decoderBehind = Number(/^livefx_frames_dropped_total\{reason="decoder-behind"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    process.stdout.write(
      `fault overload: ${JSON.stringify({
        overloadS: OVERLOAD_S,
        kills,
        longestViewerGapMs: longestGapMs,
        slowestHealthMs: Math.round(slowestHealthMs),
        framesSent: publisher.framesSent,
        framesAtViewer: frames.length,
        framesDropped: view.stats.framesDropped,
        decoderBehindDrops: decoderBehind,
        chainMs: view.stats.chain.averageMs,
        keyframeRequests: publisher.keyframeRequests,
        processedEvery: view.stats.processedEvery,
        alert: alert.message,
        resumeWaitsMs: restartResumes.map((line) => JSON.parse(line).waitedMs),
      })}\n`,
    );
  }, 300_000);
});
