import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WhepClient, type ViewerFrame } from '../helpers/whep-client.js';
import { WhipClient } from '../helpers/whip-client.js';
import { waitFor, type RunningServer } from '../helpers/livefx-process.js';
import { api, apiJson, downloadRecordingMedia, childrenOf, createStream, eventsOf, probeMedia, recordingOf, sleep, startFaultServer, type ChildProcessInfo } from './fault-server.js';

// The ASR worker here is the command engine (LIVEFX_ASR_COMMAND) running a FAKE engine: a real child
// process that can be killed from outside. PocketSphinx runs in a thread inside the pipeline worker,
// which nothing outside the process can kill; its crash path is covered by asr-pocketsphinx.test.ts.
const FAKE_ENGINE = fileURLToPath(new URL('../fixtures/fake-asr-engine.mjs', import.meta.url));
/** One word a second of audio, for ten minutes: the transcript grows steadily while the engine runs. */
const SCRIPT = Array.from({ length: 600 }, (_, second) => [{ word: `w${second}`, start: second + 0.1, end: second + 0.5 }]);

/** How each process of a captioned live stream is told apart: by its command line. */
const ROLES: Record<string, (child: ChildProcessInfo) => boolean> = {
  decoder: (child) => child.name === 'ffmpeg' && child.cmdline.includes('yuv4mpegpipe'),
  encoder: (child) => child.name === 'ffmpeg' && child.cmdline.includes('libx264'),
  hls: (child) => child.name === 'ffmpeg' && child.cmdline.includes(' -f hls '),
  'caption-decoder': (child) => child.name === 'ffmpeg' && child.cmdline.includes(' s16le ') && child.cmdline.includes(' -ar 16000 '),
  // The audio level meter of the live signals (highlights): its own 8 kHz Opus decoder.
  'level-decoder': (child) => child.name === 'ffmpeg' && child.cmdline.includes(' s16le ') && child.cmdline.includes(' -ar 8000 '),
  asr: (child) => child.cmdline.includes('fake-asr-engine.mjs'),
};

let server: RunningServer | undefined;

afterAll(async () => {
  const code = await server?.stop('SIGTERM');
  expect(code, server?.output()).toBe(0);
});

/** The longest the viewer went without a frame, and how many frame numbers it never saw, from `fromMs` on. */
function viewerGap(frames: readonly ViewerFrame[], fromMs: number): { freezeMs: number; framesMissing: number } {
  const window = frames.filter((frame) => frame.receivedMs >= fromMs - 200 && frame.code);
  let freezeMs = 0;
  let framesMissing = 0;
  for (let index = 1; index < window.length; index++) {
    freezeMs = Math.max(freezeMs, window[index]!.receivedMs - window[index - 1]!.receivedMs);
    framesMissing += Math.max(0, window[index]!.code!.frameNumber - window[index - 1]!.code!.frameNumber - 1);
  }
  return { freezeMs: Math.round(freezeMs), framesMissing };
}

async function hlsSegmentsAdded(url: string, streamId: string): Promise<string[]> {
  const text = await (await fetch(`${url}/hls/${streamId}/index.m3u8`)).text();
  return text.match(/segment-\d+\.ts/g) ?? [];
}

describe('fault: each process of a live stream is killed mid-stream', () => {
  it('restarts the decoder, encoder, HLS muxer, caption decoder, level meter and ASR engine; the viewer keeps getting frames', async () => {
    server = await startFaultServer({
      LIVEFX_MEDIA_TIMEOUT_S: '3',
      LIVEFX_ASR_COMMAND: `${process.execPath} ${FAKE_ENGINE}`,
      FAKE_ASR_SCRIPT: JSON.stringify(SCRIPT),
    });
    const serverPid = server.process.pid!;
    const stream = await createStream(server.url, 'kill everything');
    const chain = await api(`${server.url}/v1/streams/${stream.id}/transforms`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transforms: [{ name: 'subtitles' }] }),
    });
    expect(chain.status).toBe(200);
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240, audio: 'sine=frequency=440:sample_rate=48000' });
    await publisher.start();
    const recording = await recordingOf(server.url, stream.id);
    const viewer = new WhepClient(`${server.url}/whep/${stream.id}`);
    await viewer.start();
    await waitFor('30 coded frames at the viewer', () => viewer.frames.filter((frame) => frame.code).length >= 30 || undefined, 20_000);
    const processes = await waitFor('all six processes of the stream', async () => {
      const children = await childrenOf(serverPid);
      const found = Object.fromEntries(Object.entries(ROLES).map(([role, matches]) => [role, children.filter(matches)]));
      return Object.values(found).every((list) => list.length === 1) ? found : undefined;
    });
    expect(Object.keys(processes)).toHaveLength(6);

    const measured: Record<string, { restartMs: number; freezeMs: number; framesMissing: number }> = {};
    for (const [role, matches] of Object.entries(ROLES)) {
      const before = (await childrenOf(serverPid)).find(matches)!;
      const framesBefore = viewer.frames.length;
      const wordsBefore = (await eventsOf(server.url, recording.id)).filter((event) => event.type === 'transcript-word').length;
      const hlsBefore = await hlsSegmentsAdded(server.url, stream.id);
      process.kill(before.pid, 'SIGKILL');
      const killedAt = Date.now();
      const replacement = await waitFor(`a new ${role} process`, async () => (await childrenOf(serverPid)).find((child) => matches(child) && child.pid !== before.pid), 10_000, 20);
      const restartMs = Date.now() - killedAt;
      // Viewers keep (or get back) the picture: 30 more coded frames after the kill.
      await waitFor(`30 coded frames after the ${role} kill`, () => viewer.frames.slice(framesBefore).filter((frame) => frame.code).length >= 30 || undefined, 10_000);
      if (role === 'hls') {
        await waitFor('new HLS segments after the muxer restart', async () => ((await hlsSegmentsAdded(server!.url, stream.id)).some((name) => !hlsBefore.includes(name)) ? true : undefined), 10_000);
      }
      if (role === 'caption-decoder' || role === 'asr') {
        // Captions resume: new transcript words reach the recording after the restart.
        await waitFor(`transcript words after the ${role} restart`, async () => {
          const words = (await eventsOf(server!.url, recording.id)).filter((event) => event.type === 'transcript-word');
          return words.length >= wordsBefore + 2 ? true : undefined;
        }, 15_000);
      }
      expect(replacement.pid).not.toBe(before.pid);
      measured[role] = { restartMs, ...viewerGap(viewer.frames, killedAt) };
      await sleep(500);
    }

    // One session throughout: the stream is live, one recording, the crashes logged, the caption gaps in it.
    const view = await apiJson(`${server.url}/v1/streams/${stream.id}`);
    expect(view.state).toBe('live');
    const recordings = (await apiJson(`${server.url}/v1/recordings?streamId=${stream.id}`)).recordings;
    expect(recordings.map((entry: any) => entry.id)).toEqual([recording.id]);
    for (const role of ['decoder', 'encoder', 'hls', 'caption-decoder', 'level-decoder']) expect(server.output()).toMatch(new RegExp(`"role":"${role}".*pipeline process crashed; restarting`));
    const gaps = (await eventsOf(server.url, recording.id)).filter((event) => event.type === 'caption-gap');
    expect(gaps.length).toBeGreaterThanOrEqual(2);

    // The stream ends: every process goes with it.
    await publisher.stop();
    const stoppedAt = Date.now();
    let left: ChildProcessInfo[] = [];
    await waitFor('no child process left', async () => {
      left = await childrenOf(serverPid);
      return left.length === 0 ? true : undefined;
    }, 10_000).catch((error: Error) => {
      throw new Error(`${error.message}; still running: ${left.map((child) => `${child.pid} ${child.cmdline.slice(0, 160)}`).join(' | ')}`);
    });
    console.log(`every child process gone ${Date.now() - stoppedAt} ms after the publisher stopped`);
    await viewer.stop();

    // What was lost, as the recording shows: the original is tapped before the pipeline and keeps every
    // frame the publisher sent; the transformed lacks only the frames in the killed decoder/encoder.
    await waitFor('the recording complete', async () => ((await apiJson(`${server!.url}/v1/recordings/${recording.id}`)).state === 'complete' ? true : undefined));
    const frames: Record<string, number> = {};
    for (const kind of ['original', 'transformed']) {
      const file = await downloadRecordingMedia(server, recording.id, kind);
      frames[kind] = probeMedia(file).videoFrames;
    }
    // Every frame the server assembled (livefx_frames_in_total; UDP loss on a loaded loopback can take some
    // before that, whatever the kills) is in the original, and every frame the encoder produced
    // (livefx_frames_out_total) in the transformed: what the kills cost is only what the dead ffmpeg held.
    const metrics = await (await api(`${server.url}/metrics`)).text();
    const framesIn = Number(/^livefx_frames_in_total (\d+)/m.exec(metrics)?.[1]);
    const framesOut = Number(/^livefx_frames_out_total (\d+)/m.exec(metrics)?.[1]);
    expect(framesIn).toBeGreaterThan(0);
    expect(frames.original).toBeGreaterThanOrEqual(framesIn - 1);
    expect(frames.transformed).toBeGreaterThanOrEqual(framesOut - 1);
    process.stdout.write(`fault process-kills: ${JSON.stringify({ ...measured, framesSent: publisher.framesSent, framesIn, framesOut, recordedFrames: frames })}\n`);
  }, 120_000);
});
