import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WhepClient } from '../helpers/whep-client.js';
import { WhipClient } from '../helpers/whip-client.js';
import { waitFor, type RunningServer } from '../helpers/livefx-process.js';
import { ADMIN_TOKEN, api, apiJson, childrenOf, createStream, isRunning, probeMedia, processesMentioning, recordingOf, sleep, socketOf, startFaultServer, cleanUp } from './fault-server.js';

const FAKE_ENGINE = fileURLToPath(new URL('../fixtures/fake-asr-engine.mjs', import.meta.url));
const SCRIPT = Array.from({ length: 600 }, (_, second) => [{ word: `w${second}`, start: second + 0.1, end: second + 0.5 }]);
const servers: RunningServer[] = [];
const folders: string[] = [];

afterAll(() => cleanUp(servers, folders));

describe('fault: graceful shutdown on SIGTERM / SIGINT', () => {
  it('during a captioned, recorded live session with a viewer: exits 0 within the deadline, the recording finished, no process left', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-sigterm-'));
    folders.push(dataDir);
    const first = await startFaultServer({ LIVEFX_DATA_DIR: dataDir, LIVEFX_ASR_COMMAND: `${process.execPath} ${FAKE_ENGINE}`, FAKE_ASR_SCRIPT: JSON.stringify(SCRIPT) });
    servers.push(first);
    const serverPid = first.process.pid!;
    const stream = await createStream(first.url, 'stopped show');
    await api(`${first.url}/v1/streams/${stream.id}/transforms`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transforms: [{ name: 'subtitles' }] }) });
    const publisher = new WhipClient({ endpoint: `${first.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240, audio: 'sine=frequency=440:sample_rate=48000' });
    await publisher.start();
    const live = await recordingOf(first.url, stream.id);
    const viewer = new WhepClient(`${first.url}/whep/${stream.id}`, false);
    await viewer.start();
    const states: string[] = [];
    const socket = socketOf(first.url, '/live');
    socket.on('state', (message: { state: string }) => states.push(message.state));
    expect((await socket.timeout(5000).emitWithAck('subscribe', { streamId: stream.id })).ok).toBe(true);
    // Decoder, encoder, HLS muxer, caption decoder, the live signals' level decoder and the speech engine
    // (the level decoder came with the live signals; exactly five held only until it started).
    const children = await waitFor('the six processes of the stream', async () => {
      const found = await childrenOf(serverPid);
      return found.length === 6 ? found : undefined;
    });
    await sleep(Math.max(0, 6000 - (Date.now() - Date.parse(live.startedAt))));

    const stoppedAt = (Date.now() - Date.parse(live.startedAt)) / 1000;
    const signalledMs = Date.now();
    first.process.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => first.process.once('exit', (exitCode) => resolve(exitCode)));
    const exitMs = Date.now() - signalledMs;
    expect(code, first.output()).toBe(0);
    // The hard deadline in main.ts is 10 s; a clean exit comes before it.
    expect(exitMs).toBeLessThan(10_000);
    expect(first.output()).not.toMatch(/shutdown took too long/);
    expect(first.output()).toMatch(/"msg":"shut down"/);
    // Viewers were told the stream ended before the sockets closed.
    expect(states).toContain('ended');
    socket.close();
    await viewer.stop();
    await publisher.vanish();

    // Every child process ended with the server: none of them is left, and nothing mentions its data dir.
    for (const child of children) expect(isRunning(child.pid), `${child.name} ${child.cmdline}`).toBe(false);
    expect(await processesMentioning(dataDir)).toEqual([]);

    // events.jsonl ends with the session's end; after it only words the speech engine finished and the
    // last second of live signals, both about media before it.
    const lines = (await readFile(path.join(dataDir, 'recordings', live.id, 'events.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    const endIndex = lines.findIndex((line) => line.type === 'state' && line.payload.state === 'ended');
    expect(lines[endIndex]?.payload).toEqual({ state: 'ended', reason: 'server shutting down' });
    for (const late of lines.slice(endIndex + 1)) {
      expect(['transcript-word', 'signal']).toContain(late.type);
      expect(late.t).toBeLessThanOrEqual(lines[endIndex].t);
    }
    expect(lines.filter((line) => line.type === 'transcript-word').length).toBeGreaterThanOrEqual(3);

    // The last segment of each kind was finished: ffprobe decodes it.
    const lastSegments: Record<string, { durationS: number; videoFrames: number }> = {};
    for (const kind of ['original', 'transformed']) {
      const files = (await readdir(path.join(dataDir, 'recordings', live.id, kind))).filter((name) => name.endsWith('.mkv')).sort();
      const probed = probeMedia(path.join(dataDir, 'recordings', live.id, kind, files.at(-1)!));
      expect(probed.videoFrames, `${kind}/${files.at(-1)}`).toBeGreaterThan(0);
      lastSegments[kind] = probed;
    }

    // The catalog says complete (no recovery needed on the next start), with the events flushed into it.
    const second = await startFaultServer({ LIVEFX_DATA_DIR: dataDir });
    servers.push(second);
    expect(second.output()).not.toMatch(/recording recovered/);
    const recording = await apiJson(`${second.url}/v1/recordings/${live.id}`);
    expect(recording.state).toBe('complete');
    expect(Math.abs(recording.durationS - stoppedAt)).toBeLessThan(1);
    const catalogStates = (await (await api(`${second.url}/v1/recordings/${live.id}/events?type=state`)).text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(catalogStates).toEqual([
      { t: 0, type: 'state', state: 'live' },
      { t: recording.durationS, type: 'state', state: 'ended', reason: 'server shutting down' },
    ]);
    expect(recording.counts.transcriptWords).toBe(lines.filter((line) => line.type === 'transcript-word').length);
    const response = await api(`${second.url}${recording.media.original}`);
    const file = path.join(dataDir, 'sigterm-original.mp4');
    await writeFile(file, Buffer.from(await response.arrayBuffer()));
    expect(Math.abs(probeMedia(file).durationS - recording.durationS)).toBeLessThan(1);
    process.stdout.write(`fault sigterm: ${JSON.stringify({ exitMs, sessionS: recording.durationS, childProcesses: children.length, lastSegments })}\n`);
  }, 90_000);

  it('on SIGINT too: refuses new work while it shuts down, kills a stopped ffmpeg and cuts a stalled upload: still exits 0 before the deadline', async () => {
    const server = await startFaultServer();
    servers.push(server);
    const serverPid = server.process.pid!;
    const stream = await createStream(server.url, 'stuck encoder');
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240 });
    await publisher.start();
    const children = await waitFor('the three ffmpeg of the stream', async () => {
      const found = await childrenOf(serverPid);
      return found.length === 3 ? found : undefined;
    });
    // A stopped process does not act on SIGTERM: the supervisor's SIGKILL after its grace period must end it.
    const encoder = children.find((child) => child.cmdline.includes('libx264'))!;
    process.kill(encoder.pid, 'SIGSTOP');
    // An upload that stalls halfway: shutdown must not wait for it.
    const upload = connect(Number(new URL(server.url).port), '127.0.0.1');
    await new Promise((resolve) => upload.once('connect', resolve));
    const uploadClosed = new Promise<void>((resolve) => upload.once('close', () => resolve()));
    upload.on('error', () => {});
    upload.write(
      `POST /v1/recordings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: multipart/form-data; boundary=cut\r\nContent-Length: 10000000\r\n\r\n` +
        `--cut\r\nContent-Disposition: form-data; name="media"; filename="stalled.mp4"\r\nContent-Type: video/mp4\r\n\r\n${'x'.repeat(100_000)}`,
    );
    await sleep(300);
    const exited = new Promise<number | null>((resolve) => server.process.once('exit', (exitCode) => resolve(exitCode)));
    const signalledMs = Date.now();
    // SIGINT (Ctrl-C) takes the same path as SIGTERM.
    server.process.kill('SIGINT');
    await sleep(300);

    // Nothing new is accepted meanwhile: HTTP answers 503 shutting_down, socket.io refuses connections.
    const create = await api(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'too late' }) });
    expect(create.status).toBe(503);
    expect((await create.json()).error.code).toBe('shutting_down');
    const whep = await fetch(`${server.url}/whep/${stream.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    expect(whep.status).toBe(503);
    const socket = socketOf(server.url, '/live');
    const refused = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(false));
      socket.once('connect_error', () => resolve(true));
    });
    socket.close();
    expect(refused).toBe(true);

    const code = await exited;
    const exitMs = Date.now() - signalledMs;
    await uploadClosed;
    expect(code, server.output()).toBe(0);
    expect(exitMs).toBeLessThan(10_000);
    expect(server.output()).not.toMatch(/shutdown took too long/);
    for (const child of children) expect(isRunning(child.pid), `${child.cmdline}`).toBe(false);
    await publisher.vanish();
    process.stdout.write(`fault sigint with a stuck encoder: ${JSON.stringify({ exitMs })}\n`);
  }, 60_000);
});
