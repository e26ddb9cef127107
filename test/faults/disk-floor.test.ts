import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot, waitFor, type RunningServer } from '../helpers/livefx-process.js';
import { WhipClient } from '../helpers/whip-client.js';
import type { DiskGuard } from '../../recorder/disk-guard.js';
import { ADMIN_TOKEN, api, createStream, socketOf, startFaultServer } from './fault-server.js';

const silent = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function json(response: Response): Promise<any> {
  return response.json();
}

async function events(url: string, id: string): Promise<any[]> {
  return (await (await api(`${url}/v1/recordings/${id}/events`)).text()).split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function operatorConsole(url: string, streamId: string, alerts: any[]): Promise<Socket> {
  const socket = socketOf(url, '/operator');
  socket.on('alert', (alert: unknown) => alerts.push(alert));
  expect((await socket.timeout(5000).emitWithAck('join', { streamId })).ok).toBe(true);
  return socket;
}

/** Names and sizes of the segment files of one kind. */
async function segmentFiles(dataDir: string, recordingId: string, kind: string): Promise<string[]> {
  const dir = path.join(dataDir, 'recordings', recordingId, kind);
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => `${name}:${(await stat(path.join(dir, name))).size}`));
}

describe('fault: the recordings disk reaches its floor mid-session', () => {
  let server: any;
  let dataDir = '';

  afterAll(async () => {
    await server?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('stops recording cleanly, alerts the operators, keeps the stream live, and completes the recording when the stream ends', async () => {
    // The built server in this process, so the test can move the guard's floor while it runs.
    const dist = (file: string): string => pathToFileURL(path.join(projectRoot, 'dist', file)).href;
    const { LivefxServer } = await import(dist('server/livefx-server.js'));
    const { loadConfig } = await import(dist('core/config.js'));
    dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-disk-guard-'));
    const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_MEDIA_TIMEOUT_S: '3', LIVEFX_RECORD_MIN_FREE_MB: '1', LIVEFX_RECORD_DISK_CHECK_S: '600' });
    server = new LivefxServer({ config, log: silent });
    const { url } = await server.start();
    const stream = await createStream(url, 'guarded show');
    const alerts: any[] = [];
    const socket = await operatorConsole(url, stream.id, alerts);
    const publisher = new WhipClient({ endpoint: `${url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    try {
      await publisher.start();
      const live = await waitFor('a recording in progress', async () => (await json(await api(`${url}/v1/recordings?streamId=${stream.id}`))).recordings[0]);
      await waitFor('the first original segment', async () => ((await segmentFiles(dataDir, live.id, 'original').catch(() => [])).length >= 1 ? true : undefined));
      await sleep(2500);

      const guard = server.recorder.diskGuard as DiskGuard;
      guard.setMinFreeBytes(Number.MAX_SAFE_INTEGER);
      expect(await guard.check()).toBe(true);
      const stoppedAtS = (Date.now() - Date.parse(live.startedAt)) / 1000;
      // A loaded machine may also alert that the stream is overloaded: the disk's alert is the one asked for here.
      const alert = await waitFor('the disk alert', () => alerts.find((entry) => entry.code !== 'stream_overloaded'));
      expect(alert).toMatchObject({ streamId: stream.id, code: 'disk_low' });
      expect(alert.message).toMatch(/below the \d+ MB floor \(LIVEFX_RECORD_MIN_FREE_MB\): recording stopped/);

      const filesAtStop = { original: await segmentFiles(dataDir, live.id, 'original'), transformed: await segmentFiles(dataDir, live.id, 'transformed') };
      const framesBefore = (await server.metrics.framesOut.get()).values[0]?.value ?? 0;
      await sleep(2500);
      // Nothing more is written, but viewers still get processed frames.
      expect(await segmentFiles(dataDir, live.id, 'original')).toEqual(filesAtStop.original);
      expect(await segmentFiles(dataDir, live.id, 'transformed')).toEqual(filesAtStop.transformed);
      expect((await server.metrics.framesOut.get()).values[0]?.value ?? 0).toBeGreaterThan(framesBefore + 20);
      expect((await json(await api(`${url}/v1/streams/${stream.id}`))).state).toBe('live');
      expect((await json(await api(`${url}/v1/recordings/${live.id}`))).state).toBe('recording');

      // A second stream going live below the floor is not recorded, and its operators are told.
      const second = await createStream(url, 'unrecorded show');
      const secondAlerts: any[] = [];
      const secondSocket = await operatorConsole(url, second.id, secondAlerts);
      const secondPublisher = new WhipClient({ endpoint: `${url}/whip/${second.id}`, streamKey: second.streamKey, width: 320, height: 240 });
      await secondPublisher.start();
      const secondAlert = await waitFor('the second stream alert', () => secondAlerts[0]);
      expect(secondAlert).toMatchObject({ streamId: second.id, code: 'disk_low' });
      expect(secondAlert.message).toMatch(/this session is not recorded/);
      expect((await json(await api(`${url}/v1/recordings?streamId=${second.id}`))).recordings).toEqual([]);
      await secondPublisher.stop();
      secondSocket.close();

      await publisher.stop();
      const done = await waitFor('the recording to complete', async () => {
        const current = await json(await api(`${url}/v1/recordings/${live.id}`));
        return current.state === 'complete' ? current : undefined;
      });
      const all = await events(url, live.id);
      const stopped = all.filter((event) => event.type === 'recording-stopped');
      expect(stopped).toHaveLength(1);
      expect(stopped[0]).toMatchObject({ code: 'disk_low', message: alert.message });
      expect(stopped[0].t).toBeCloseTo(stoppedAtS, 0);
      expect(all.at(-1)).toMatchObject({ type: 'state', state: 'ended' });
      expect(done.durationS).toBeGreaterThan(stoppedAtS + 2);

      // What was written before the stop is intact and plays.
      const response = await api(`${url}${done.media.original}`);
      expect(response.status).toBe(200);
      const target = path.join(dataDir, 'stopped.mp4');
      await writeFile(target, Buffer.from(await response.arrayBuffer()));
      const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', target], { encoding: 'utf8' });
      expect(probe.status, probe.stderr).toBe(0);
      const mediaS = Number(probe.stdout.trim());
      expect(mediaS).toBeGreaterThan(1.5);
      expect(mediaS).toBeLessThan(stoppedAtS + 1);
      process.stdout.write(`fault disk floor: ${JSON.stringify({ stoppedAtS, recordedMediaS: mediaS, sessionS: done.durationS, eventsAfterStop: all.filter((event) => event.t > stoppedAtS).map((event) => event.type) })}\n`);
    } finally {
      await publisher.stop().catch(() => undefined);
      socket.close();
    }
  }, 60_000);
});

describe('fault: the server starts with the recordings disk below its floor', () => {
  let server: RunningServer | undefined;

  afterAll(async () => {
    const code = await server?.stop('SIGTERM');
    expect(code, server?.output()).toBe(0);
  });

  it('records nothing, says so to the operators and in the log, and the stream still goes live', async () => {
    server = await startFaultServer({ LIVEFX_RECORD_MIN_FREE_MB: '99999999', LIVEFX_MEDIA_TIMEOUT_S: '3' });
    const stream = await createStream(server.url, 'no room');
    const alerts: any[] = [];
    const socket = await operatorConsole(server.url, stream.id, alerts);
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    try {
      await publisher.start();
      // A loaded machine may also alert that the stream is overloaded: the disk's alert is the one asked for here.
      const alert = await waitFor('the disk alert', () => alerts.find((entry) => entry.code !== 'stream_overloaded'));
      expect(alert).toMatchObject({ streamId: stream.id, code: 'disk_low' });
      expect(alert.message).toMatch(/below the 99999999 MB floor .*this session is not recorded/);
      await waitFor('the stream to be live', async () => ((await json(await api(`${server!.url}/v1/streams/${stream.id}`))).state === 'live' ? true : undefined));
      await sleep(1000);
      expect((await json(await api(`${server.url}/v1/recordings`))).recordings).toEqual([]);
      expect(await readdir(path.join(server.dataDir, 'recordings'))).toEqual([]);
      expect(server.output()).toMatch(/this session is not recorded/);
      const metrics = await (await api(`${server.url}/metrics`)).text();
      expect(Number(/^livefx_recording_disk_free_bytes (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    } finally {
      await publisher.stop();
      socket.close();
    }
  }, 40_000);
});
