import { afterAll, describe, expect, it } from 'vitest';
import { WhepClient } from '../helpers/whep-client.js';
import { WhipClient } from '../helpers/whip-client.js';
import { waitFor, type RunningServer } from '../helpers/livefx-process.js';
import { apiJson, downloadRecordingMedia, createStream, eventsOf, probeMedia, recordingOf, startFaultServer } from './fault-server.js';
import { UdpRelay } from './udp-relay.js';

const GAP_MS = 5000;

/** #EXT-X-MEDIA-SEQUENCE of a live playlist, plus its segment count: grows as segments are added. */
function mediaSequence(playlist: string): number {
  const first = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1] ?? 0);
  return first + (playlist.match(/\.ts/g) ?? []).length;
}
let server: RunningServer | undefined;

afterAll(async () => {
  const code = await server?.stop('SIGTERM');
  expect(code, server?.output()).toBe(0);
});

describe('fault: the publisher network drops every packet for 5 s', () => {
  it('resumes in the same session: same stream, same recording, the viewer keeps watching', async () => {
    // The default media timeout: the point is that the default survives a 5 s gap.
    server = await startFaultServer();
    const stream = await createStream(server.url, 'flaky network');
    const relay = new UdpRelay();
    await relay.open();
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240, sdpRewrite: relay.sdpRewrite });
    await publisher.start();
    const recording = await recordingOf(server.url, stream.id);
    const viewer = new WhepClient(`${server.url}/whep/${stream.id}`);
    await viewer.start();
    await waitFor('30 coded frames at the viewer', () => viewer.frames.filter((frame) => frame.code).length >= 30 || undefined, 20_000);
    expect(relay.forwarded).toBeGreaterThan(100);

    const sentBefore = publisher.framesSent;
    const seenBefore = viewer.frames.length;
    const lastNumberBefore = viewer.frames.filter((frame) => frame.code).at(-1)!.code!.frameNumber;
    const gapStartMs = Date.now();
    await relay.interrupt(GAP_MS);
    const gapEndMs = Date.now();
    const sentDuringGap = publisher.framesSent - sentBefore;
    const droppedPackets = relay.dropped;
    expect(droppedPackets).toBeGreaterThan(0);
    // Nothing reached the viewer while the network was gone, except what was in flight.
    const seenDuringGap = viewer.frames.length - seenBefore;

    const resumed = await waitFor('30 new coded frames at the viewer after the gap', () => {
      const after = viewer.frames.slice(seenBefore + seenDuringGap).filter((frame) => frame.code);
      return after.length >= 30 ? after : undefined;
    }, 15_000);
    const firstBack = resumed[0]!;
    // The pipeline went on from where it was: frame numbers continue, no new pipeline started at 0.
    expect(firstBack.code!.frameNumber).toBeGreaterThan(lastNumberBefore);
    const view = await apiJson(`${server.url}/v1/streams/${stream.id}`);
    expect(view.state).toBe('live');
    // HLS viewers too: the playlist goes on past the gap with new segments.
    const hlsBefore = mediaSequence(await (await fetch(`${server.url}/hls/${stream.id}/index.m3u8`)).text());
    await waitFor('HLS segments after the gap', async () => (mediaSequence(await (await fetch(`${server!.url}/hls/${stream.id}/index.m3u8`)).text()) >= hlsBefore + 2 ? true : undefined), 10_000);
    expect(server.output()).toMatch(/publisher media stopped; the stream waits for it to resume/);
    expect(server.output()).toMatch(/publisher media resumed/);
    const recordings = (await apiJson(`${server.url}/v1/recordings?streamId=${stream.id}`)).recordings;
    expect(recordings.map((entry: any) => [entry.id, entry.state])).toEqual([[recording.id, 'recording']]);

    await publisher.stop();
    const finished = await waitFor('the recording complete', async () => {
      const current = await apiJson(`${server!.url}/v1/recordings/${recording.id}`);
      return current.state === 'complete' ? current : undefined;
    });
    const events = await eventsOf(server.url, recording.id);
    const states = events.filter((event) => event.type === 'state').map((event) => event.state);
    expect(states).toEqual(['live', 'ended']);
    const gaps = events.filter((event) => event.type === 'media-gap');
    expect(gaps).toHaveLength(1);
    expect(gaps[0].durationS).toBeGreaterThan(GAP_MS / 1000 - 0.5);
    expect(gaps[0].durationS).toBeLessThan(GAP_MS / 1000 + 1.5);
    // The recording holds the whole session, the gap as a jump in time: both media play to its end.
    const mediaS: Record<string, number> = {};
    for (const kind of ['original', 'transformed']) {
      const file = await downloadRecordingMedia(server, recording.id, kind);
      mediaS[kind] = probeMedia(file).durationS;
      expect(Math.abs(mediaS[kind]! - finished.durationS), `${kind}: ${mediaS[kind]} s of ${finished.durationS} s`).toBeLessThan(1.5);
    }
    await viewer.stop();
    relay.close();
    const report = {
      gapMs: gapEndMs - gapStartMs,
      packetsDropped: droppedPackets,
      publisherFramesSentDuringGap: sentDuringGap,
      viewerFramesDuringGap: seenDuringGap,
      firstViewerFrameAfterGapMs: Math.round(firstBack.receivedMs - gapEndMs),
      recordedGapS: gaps[0].durationS,
      recordingDurationS: finished.durationS,
      recordedMediaS: mediaS,
    };
    process.stdout.write(`fault publisher-network: ${JSON.stringify(report)}\n`);
  }, 90_000);
});
