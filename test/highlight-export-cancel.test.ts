import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { adminFetch as fetch, createStream, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { WhipClient } from './helpers/whip-client.js';
import { processesMentioning } from './faults/fault-server.js';

let server: RunningServer;
let scratch: string;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Live processes (not zombies) whose command line names `text`, found by scanning /proc. */
const processesNaming = (text: string) => processesMentioning(text, { liveOnly: true });

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${route}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  // The built server as a process: its pipeline workers record the live stream as in production.
  server = await startServer({ LIVEFX_RECORD_SEGMENT_S: '1' });
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-export-cancel-'));
}, 60_000);

afterAll(async () => {
  const code = await server?.stop('SIGTERM');
  await rm(scratch, { recursive: true, force: true });
  expect(code, server?.output()).toBe(0);
});

describe('cancelling a highlights job during its export stage', () => {
  it('kills the export’s ffmpeg, leaves no partial file, and the next download is the whole recording', async () => {
    // A real live recording: a werift WHIP publisher for about 6 s, cut into 1 s segments.
    const { url, dataDir } = server;
    const stream = await createStream(url, 'export to cancel');
    const publisher = new WhipClient({ endpoint: `${url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    await publisher.start();
    const live = await waitFor('a recording in progress', async () => (await api('GET', `/v1/recordings?streamId=${stream.id}`)).body.recordings[0], 20_000);
    await sleep(6000);
    await publisher.stop();
    const recording = await waitFor('the recording complete', async () => {
      const view = (await api('GET', `/v1/recordings/${live.id}`)).body;
      return view.state === 'complete' ? view : undefined;
    }, 30_000, 100);
    const recordingDir = path.join(dataDir, 'recordings', live.id);
    const segmentsOf = async (kind: string): Promise<string[]> => (await readdir(path.join(recordingDir, kind)).catch(() => [] as string[])).filter((name) => name.endsWith('.mkv')).sort();
    // The job exports what viewers saw when there is a transformed track, else the original (as the service picks).
    const kind = (await segmentsOf('transformed')).length > 0 ? 'transformed' : 'original';
    const segments = await segmentsOf(kind);
    expect(segments.length, JSON.stringify(recording)).toBeGreaterThanOrEqual(3);

    // What a whole export holds: every video packet of every segment (packets, not duration: a very short last segment can skew the joined file's timestamps, an exporter issue of its own).
    const videoPackets = (file: string): number => {
      const probed = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { encoding: 'utf8' });
      expect(probed.status, probed.stderr).toBe(0);
      return Number(probed.stdout.trim());
    };
    const wholePackets = segments.reduce((total, name) => total + videoPackets(path.join(recordingDir, kind, name)), 0);
    const firstPackets = videoPackets(path.join(recordingDir, kind, segments[0]!));

    // Fault injection: the second segment becomes a FIFO nobody writes, so the export's ffmpeg copies the
    // first one and then waits on it, as a stream copy of a long recording sits in its export. A file made
    // of what came before the FIFO would hold the first segment's packets only.
    const heldFile = path.join(recordingDir, kind, segments[1]!);
    await rename(heldFile, `${heldFile}.held`);
    execFileSync('mkfifo', [heldFile]);

    const posted = await api('POST', '/v1/video/highlights', { recording_id: live.id, k: 1 });
    expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    const exporting = await waitFor(
      'the job exporting in ffmpeg',
      async () => {
        const view = (await api('GET', `/v1/video/highlights/${posted.body.id}`)).body;
        const ffmpeg = (await processesNaming(dataDir)).filter((child) => child.name === 'ffmpeg' && child.cmdline.includes('.ffconcat'));
        return view.stage === 'exporting' && ffmpeg.length > 0 ? { view, ffmpeg } : undefined;
      },
      20_000,
      20,
    );
    expect(exporting.ffmpeg).toHaveLength(1);
    // Still waiting on the FIFO a moment later: only the cancel can end it.
    await sleep(500);
    expect((await processesNaming(dataDir)).map((child) => child.pid)).toContain(exporting.ffmpeg[0]!.pid);

    const cancelledAt = Date.now();
    const cancelled = await api('DELETE', `/v1/video/highlights/${posted.body.id}`);
    expect(cancelled.body).toEqual({ id: posted.body.id, status: 'cancelled' });
    await waitFor('no process left on the data dir', async () => ((await processesNaming(dataDir)).length === 0 ? true : undefined), 5_000, 20);
    const killedMs = Date.now() - cancelledAt;
    // The cancel itself kills it: the export's stall watchdog (30 s here) would end it too, much later.
    expect(killedMs).toBeLessThan(5_000);
    expect((await api('GET', `/v1/video/highlights/${posted.body.id}`)).body.status).toBe('cancelled');
    // Nothing half-made is left where the exporter would serve it from: no media file, no partial, no list.
    const leftovers = async (): Promise<string[]> => (await readdir(recordingDir)).filter((name) => name.startsWith(`${kind}.`));
    await waitFor('the export’s partial files removed', async () => ((await leftovers()).length === 0 ? true : undefined), 5_000, 20);
    expect(existsSync(path.join(dataDir, 'highlights', posted.body.id))).toBe(false);

    // With the segment back, the next download exports again and gets the whole recording.
    await rm(heldFile);
    await rename(`${heldFile}.held`, heldFile);
    const response = await fetch(`${url}/v1/recordings/${live.id}/media/${kind}`);
    expect(response.status).toBe(200);
    const downloaded = path.join(scratch, `${kind}.mp4`);
    await writeFile(downloaded, Buffer.from(await response.arrayBuffer()));
    // All of it, not the first segment that a run cut at the FIFO would have held.
    const downloadedPackets = videoPackets(downloaded);
    expect(downloadedPackets).toBeGreaterThan(firstPackets);
    expect(downloadedPackets).toBe(wholePackets);
    process.stdout.write(`highlights export cancel: ${JSON.stringify({ kind, segments: segments.length, killedMs, packets: downloadedPackets, firstSegmentPackets: firstPackets })}\n`);
  }, 120_000);
});
