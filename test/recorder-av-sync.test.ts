/// <reference lib="dom" />
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAfterTests, startServerAndChromium } from './helpers/test-lifecycle.js';
import { createStream, waitFor, type RunningServer } from './helpers/livefx-process.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { adminFetch } from './helpers/livefx-process.js';

let server: RunningServer;
let browser: Browser;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  ({ server, browser } = await startServerAndChromium({ LIVEFX_MEDIA_TIMEOUT_S: '3' }));
});

afterAll(() => closeAfterTests({ server, browser }));

/**
 * Publishes over WHIP a black 640x360 canvas that turns white for 200 ms once a second, with a 1 kHz
 * beep starting in the same callback as each white frame (so the source itself is in sync to the
 * audio render quantum, 2.7 ms): what a camera filming a clapperboard would send.
 */
async function publishFlashAndBeep(page: Page, streamId: string, streamKey: string): Promise<void> {
  await page.evaluate(
    async ({ streamId, streamKey }) => {
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 360;
      document.body.append(canvas);
      const context = canvas.getContext('2d')!;
      const audio = new AudioContext();
      await audio.resume();
      const oscillator = audio.createOscillator();
      oscillator.frequency.value = 1000;
      const gain = audio.createGain();
      gain.gain.value = 0;
      const destination = audio.createMediaStreamDestination();
      oscillator.connect(gain).connect(destination);
      oscillator.start();
      const stream = canvas.captureStream(0);
      const videoTrack = stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack;
      let nextFlashMs = performance.now() + 1500;
      let flashUntilMs = 0;
      const draw = (): void => {
        const now = performance.now();
        if (now >= nextFlashMs) {
          flashUntilMs = now + 200;
          nextFlashMs += 1000;
          const at = audio.currentTime;
          gain.gain.setValueAtTime(0.5, at);
          gain.gain.setValueAtTime(0, at + 0.2);
        }
        context.fillStyle = now < flashUntilMs ? '#fff' : '#000';
        context.fillRect(0, 0, 640, 360);
        videoTrack.requestFrame();
      };
      draw();
      setInterval(draw, 1000 / 30);
      const pc = new RTCPeerConnection();
      const video = pc.addTransceiver(videoTrack, { direction: 'sendonly', streams: [stream] });
      video.setCodecPreferences(RTCRtpReceiver.getCapabilities('video')!.codecs.filter((codec) => codec.mimeType === 'video/H264' && /packetization-mode=1/.test(codec.sdpFmtpLine ?? '')));
      pc.addTransceiver(destination.stream.getAudioTracks()[0]!, { direction: 'sendonly', streams: [stream] });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
        setTimeout(resolve, 2000);
      });
      const response = await fetch(`/whip/${streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` }, body: pc.localDescription!.sdp });
      if (response.status !== 201) throw new Error(`WHIP answered ${response.status}: ${await response.text()}`);
      await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    },
    { streamId, streamKey },
  );
}

/** ffprobe over a lavfi graph reading `file`: one [pts_time, value] per frame. */
function probeFrames(graph: string, tag: string): [number, number][] {
  const result = spawnSync('ffprobe', ['-v', 'error', '-f', 'lavfi', '-i', graph, '-show_entries', `frame=pts_time:frame_tags=${tag}`, '-of', 'csv=p=0'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => line.split(',').map(Number) as [number, number])
    .filter(([time, value]) => Number.isFinite(time) && !Number.isNaN(value));
}

/** A rise of a signal: the first sample above the threshold, and the sample before it (still below). */
interface Onset {
  time: number;
  before: number;
}

/**
 * Where a signal rises above `threshold` after at least `quietS` below it. A file that starts
 * above it (its first keyframe came in the middle of a flash) shows no onset there: the rise was before the file.
 */
function onsets(frames: [number, number][], threshold: number, quietS: number): Onset[] {
  const found: Onset[] = [];
  let lastLoud = -Infinity;
  let previous: number | undefined;
  for (const [time, value] of frames) {
    const before = previous;
    previous = time;
    if (value <= threshold) continue;
    if (before !== undefined && time - lastLoud >= quietS) found.push({ time, before });
    lastLoud = time;
  }
  return found;
}

/**
 * Flash onsets (mean luma of a frame crosses mid-grey) and beep onsets (RMS of 1 ms windows above −30 dBFS) of one file, and their differences.
 * Where frames are missing before a flash (a pipeline that skipped frames while it started), the flash began
 * somewhere in the gap: the beep is measured against the gap's frame slots, not only the first frame after it.
 */
function measureSync(file: string): { flashes: number[]; beeps: number[]; offsetsMs: number[]; gapsMs: number[] } {
  const frames = probeFrames(`movie=${file},signalstats`, 'lavfi.signalstats.YAVG');
  const steps = frames.slice(1).map(([time], index) => time - frames[index]![0]).sort((a, b) => a - b);
  const frameS = steps[Math.floor(steps.length / 2)] ?? 1 / 30;
  const flashes = onsets(frames, 128, 0.5);
  const beeps = onsets(probeFrames(`amovie=${file},asetnsamples=n=48:p=0,astats=metadata=1:reset=1`, 'lavfi.astats.Overall.RMS_level'), -30, 0.5).map((onset) => onset.time);
  const offsetsMs = flashes.flatMap(({ time, before }) => {
    const earliest = Math.min(time, before + frameS);
    const nearest = beeps.reduce((best, beep) => (Math.abs(beep - time) < Math.abs(best - time) ? beep : best), Infinity);
    if (Math.abs(nearest - time) >= 0.5) return [];
    const offset = nearest > time ? nearest - time : nearest < earliest ? nearest - earliest : 0;
    return [Math.round(offset * 1000)];
  });
  const gapsMs = flashes.filter(({ time, before }) => time - before > 2 * frameS).map(({ time, before }) => Math.round((time - before) * 1000));
  return { flashes: flashes.map((onset) => onset.time), beeps, offsetsMs, gapsMs };
}

describe('recording A/V sync', () => {
  it('keeps audio and video of both recorded files within 40 ms of each other (flash + beep source)', async () => {
    const stream = await createStream(server.url, 'sync check');
    const page = await browser.newPage();
    await page.goto(`${server.url}/healthz`);
    await publishFlashAndBeep(page, stream.id, stream.streamKey);
    const recording = await waitFor('the recording in progress', async () => {
      const list = (await (await adminFetch(`${server.url}/v1/recordings?streamId=${stream.id}`)).json()) as { recordings: { id: string }[] };
      return list.recordings[0];
    });
    await sleep(11_000);
    await adminFetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE' });
    await waitFor('the recording to complete', async () => ((await (await adminFetch(`${server.url}/v1/recordings/${recording.id}`)).json()) as { state: string }).state === 'complete' || undefined, 10_000);
    await page.close();

    for (const kind of ['original', 'transformed'] as const) {
      const response = await adminFetch(`${server.url}/v1/recordings/${recording.id}/media/${kind}`);
      expect(response.status).toBe(200);
      const file = path.join(server.dataDir, `sync-${kind}.mp4`);
      await writeFile(file, Buffer.from(await response.arrayBuffer()));
      const { flashes, beeps, offsetsMs, gapsMs } = measureSync(file);
      console.log(`${kind}: ${flashes.length} flashes, ${beeps.length} beeps, audio − video offsets (ms): ${offsetsMs.join(', ')}${gapsMs.length > 0 ? `; frames missing before ${gapsMs.length} flash(es), gaps ${gapsMs.join(', ')} ms` : ''}`);
      // About nine flashes in 11 s; the first second or two may be lost to the first keyframe.
      expect(offsetsMs.length, `${kind}: flashes at ${flashes.join(', ')}; beeps at ${beeps.join(', ')}`).toBeGreaterThanOrEqual(6);
      expect(offsetsMs.length).toBeGreaterThanOrEqual(flashes.length - 1);
      for (const offset of offsetsMs) expect(Math.abs(offset), `${kind}: audio − video offsets ${offsetsMs.join(', ')} ms`).toBeLessThanOrEqual(40);
    }
  }, 90_000);
});
