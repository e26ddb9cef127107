// Soak run (issue 8): processed 720p30 streams with the full transform chain and live captions, WebRTC
// viewers and chat for a bounded time, sampled every few seconds: frames dropped at the viewers,
// latency p95, the server's RSS, open file descriptors and CPU, so growth after warm-up shows a leak.
// A second phase ramps WebRTC viewers of one processed stream until loss exceeds 1 % (viewers per core).
//
//   npm run bench:soak                                   # 10 min, 2 streams × 20 viewers, then the ramp
//   node dist/benchmarks/soak.js --minutes 2 --viewers 5 --phase soak
//
// Viewers and chatters live in separate audience processes (soak-viewers.ts), so the server process
// (its own pid, its own /proc/<pid>/fd) is measured apart from the clients. Loopback only.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { WhipClient } from '../test/helpers/whip-client.js';
import { ASR_SENTENCES, makeSpeech } from '../test/helpers/asr-speech.js';
import { percentile, renderBarChart } from './bar-chart.js';
import { gradeCube, writeLogo } from './bench-assets.js';
import { renderLineChart } from './line-chart.js';
import { ADMIN_TOKEN, projectRoot, startServer, waitFor, type RunningServer } from '../test/helpers/livefx-process.js';
import { sampleTree } from './process-usage.js';
import type { AudienceConfig, AudienceSnapshot, FromAudience, ToAudience, ViewerCounters } from './soak-protocol.js';

/** Accepted by servers with access control (the tests' token); ignored by servers without. */
const FPS = 30;
/** Loss above this ends the viewer ramp. */
const LOSS_LIMIT_PERCENT = 1;
/** Viewers per audience process in the ramp: several processes, so one client process is not the bottleneck. */
const VIEWERS_PER_AUDIENCE = 40;
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1): number => (Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : Number.NaN);
const mean = (values: number[]): number => (values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length);

/** Issue 8's "full chain": every kind of transform there is, at live settings. */
const FULL_CHAIN = {
  transforms: [
    { name: 'face-blur', params: {} },
    { name: 'color', params: { brightness: 0.03, contrast: 1.15, saturation: 1.2, gamma: 1.05 } },
    { name: 'lut3d', params: { file: 'grade.cube', interp: 'tetrahedral' } },
    { name: 'toon', params: {} },
    { name: 'text', params: { text: 'Soak run: live from the studio', style: 'lower-third' } },
    { name: 'image', params: { file: 'logo.png', position: 'top-right', scale: 0.12 } },
    { name: 'subtitles', params: {} },
    { name: 'label', params: { corner: 'bottom-right' } },
  ],
};

// ---------------------------------------------------------------- command line

interface Options {
  minutes: number;
  viewers: number;
  streams: number;
  phase: 'soak' | 'capacity' | 'all';
  sampleS: number;
  warmupS: number;
  chatPerS: number;
  capacitySteps: number[];
  capacityMeasureS: number;
  capacityMaxS: number;
}

function usageError(message: string): never {
  console.error(`soak: ${message}\nusage: node dist/benchmarks/soak.js [--minutes N] [--viewers N] [--streams N] [--phase soak|capacity|all] [--sample-s S] [--warmup-s S] [--chat-per-s R] [--capacity-steps 10,20,40,...] [--capacity-measure-s S] [--capacity-max-s S]`);
  process.exit(2);
}

function positive(name: string, text: string | undefined, fallback: number, integer = false): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) usageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
  return value;
}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        minutes: { type: 'string' },
        viewers: { type: 'string' },
        streams: { type: 'string' },
        phase: { type: 'string' },
        'sample-s': { type: 'string' },
        'warmup-s': { type: 'string' },
        'chat-per-s': { type: 'string' },
        'capacity-steps': { type: 'string' },
        'capacity-measure-s': { type: 'string' },
        'capacity-max-s': { type: 'string' },
      },
    }).values;
  } catch (error) {
    usageError((error as Error).message);
  }
  const phase = parsed.phase ?? 'all';
  if (phase !== 'soak' && phase !== 'capacity' && phase !== 'all') usageError(`--phase must be soak, capacity or all, got "${phase}"`);
  const minutes = positive('minutes', parsed.minutes, 10);
  const sampleS = positive('sample-s', parsed['sample-s'], 10);
  const durationS = minutes * 60;
  if (sampleS * 4 > durationS) usageError(`--minutes ${minutes} leaves fewer than 4 samples of ${sampleS} s`);
  const warmupS = parsed['warmup-s'] === undefined ? Math.min(120, Math.max(2 * sampleS, 0.2 * durationS)) : positive('warmup-s', parsed['warmup-s'], 0);
  if (warmupS + 2 * sampleS > durationS) usageError(`--warmup-s ${warmupS} leaves too little of a ${durationS} s run to measure`);
  const steps = (parsed['capacity-steps'] ?? '10,20,40,80,160,320').split(',').map((text) => positive('capacity-steps', text.trim(), 0, true));
  if (steps.some((step, index) => index > 0 && step <= steps[index - 1]!)) usageError('--capacity-steps must rise');
  return {
    minutes,
    viewers: positive('viewers', parsed.viewers, 20, true),
    streams: positive('streams', parsed.streams, 2, true),
    phase,
    sampleS,
    warmupS,
    chatPerS: positive('chat-per-s', parsed['chat-per-s'], 3),
    capacitySteps: steps,
    capacityMeasureS: positive('capacity-measure-s', parsed['capacity-measure-s'], 15),
    capacityMaxS: positive('capacity-max-s', parsed['capacity-max-s'], 300),
  };
}

// ---------------------------------------------------------------- server and streams

function api(server: RunningServer, route: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${route}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } });
}

interface StreamStats {
  fpsIn: number;
  fpsOut: number;
  framesDropped: number;
  stageMs: { decode: number; transforms: number; encode: number };
  viewers: { webrtc: number };
  chain: { averageMs: number; framesOverDeadline: number; degraded: boolean; halfResolution?: boolean; transforms: { name: string; averageMs: number; skippedFrames: number; halfResolution: boolean; note?: string }[] };
}

type StreamSnapshot = StreamStats & { state: string };

async function streamStats(server: RunningServer, id: string): Promise<StreamSnapshot> {
  const view = (await (await api(server, `/v1/streams/${id}`)).json()) as { state: string; stats: StreamStats };
  return { ...view.stats, state: view.state };
}

interface Session {
  id: string;
  publisher: WhipClient;
  captions: { cues: number; finals: number };
}

/** Speech for the publishers' microphones: ASR_SENTENCES spoken by flite, as 20 ms Opus packets in Ogg. */
async function prepareSpeech(dir: string): Promise<string> {
  const speech = await makeSpeech(dir, 'soak-speech', ASR_SENTENCES, { leadSilenceMs: 500, gapMs: 1500 });
  const ogg = path.join(dir, 'soak-speech.ogg');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', speech.file, '-ar', '48000', '-ac', '2', '-c:a', 'libopus', '-b:a', '48k', '-frame_duration', '20', ogg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg (Opus encode) exited with ${code}: ${stderr}`))));
  });
  return ogg;
}

async function startLivefx(): Promise<RunningServer> {
  // Every client is on this machine (one address): the per-address request limit and the viewer cap
  // would end the capacity ramp before the server's own limit is found.
  const server = await startServer({ LIVEFX_LOG_LEVEL: 'warn', LIVEFX_HTTP_RATE_PER_IP: '0', LIVEFX_HTTP_RATE_PER_TOKEN: '0', LIVEFX_MAX_VIEWERS_PER_STREAM: '10000' });
  await mkdir(path.join(server.dataDir, 'luts'), { recursive: true });
  await mkdir(path.join(server.dataDir, 'images'), { recursive: true });
  await writeFile(path.join(server.dataDir, 'luts', 'grade.cube'), gradeCube(33));
  writeLogo(path.join(server.dataDir, 'images', 'logo.png'));
  return server;
}

/** A stream with the full chain, published by a werift client (testsrc2 720p30 H.264 + the speech as Opus). */
async function startSession(server: RunningServer, index: number, speechOgg: string, live: Socket): Promise<Session> {
  const created = await api(server, '/v1/streams', { method: 'POST', body: JSON.stringify({ title: `soak ${index}` }) });
  if (created.status !== 201) throw new Error(`creating a stream failed: ${created.status} ${await created.text()}`);
  const stream = (await created.json()) as { id: string; streamKey: string };
  const put = await api(server, `/v1/streams/${stream.id}/transforms`, { method: 'PUT', body: JSON.stringify(FULL_CHAIN) });
  if (!put.ok) throw new Error(`the full chain was refused: ${put.status} ${await put.text()}`);
  const session: Session = { id: stream.id, publisher: new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1280, height: 720, fps: FPS, kbps: 2500, audioFile: speechOgg }), captions: { cues: 0, finals: 0 } };
  const subscribed = (await live.timeout(10_000).emitWithAck('subscribe', { streamId: stream.id })) as { ok: boolean; error?: { message: string } };
  if (!subscribed.ok) throw new Error(`/live subscribe failed: ${subscribed.error?.message}`);
  await session.publisher.start();
  await waitFor(`stream ${index} to encode`, async () => ((await streamStats(server, stream.id)).fpsOut > 0 ? true : undefined), 30_000, 250);
  return session;
}

/** Counts caption cues per stream from the `/live` namespace (they prove recognition keeps running). */
function liveSocket(server: RunningServer, sessions: () => Session[]): Socket {
  const socket = io(`${server.url}/live`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'] });
  socket.on('caption', (message: { streamId: string; cue: { final: boolean } }) => {
    const session = sessions().find((candidate) => candidate.id === message.streamId);
    if (!session) return;
    session.captions.cues++;
    if (message.cue.final) session.captions.finals++;
  });
  return socket;
}

// ---------------------------------------------------------------- audience processes

class AudienceProcess {
  private readonly child: ChildProcess;
  private readonly waiting: { type: FromAudience['type']; resolve: (message: FromAudience) => void; reject: (error: Error) => void }[] = [];
  private exited = false;
  viewers = 0;

  constructor(config: AudienceConfig) {
    this.child = fork(path.join(here, 'soak-viewers.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: FromAudience) => {
      if (message.type === 'error') {
        for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(message.message));
        return;
      }
      const index = this.waiting.findIndex((waiter) => waiter.type === message.type);
      if (index >= 0) this.waiting.splice(index, 1)[0]!.resolve(message);
    });
    this.child.on('exit', (code) => {
      this.exited = true;
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(`audience process exited with ${code}`));
    });
  }

  private next<T extends FromAudience>(type: T['type'], timeoutMs: number): Promise<T> {
    if (this.exited) return Promise.reject(new Error('audience process has exited'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`audience process gave no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({
        type,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  private send(message: ToAudience): void {
    if (!this.exited) this.child.send(message);
  }

  async ready(): Promise<void> {
    this.viewers = (await this.next<{ type: 'ready'; viewers: number }>('ready', 120_000)).viewers;
  }

  async add(count: number): Promise<void> {
    const added = this.next<{ type: 'added'; viewers: number }>('added', 60_000 + count * 2000);
    this.send({ type: 'add', count });
    this.viewers = (await added).viewers;
  }

  snapshot(): Promise<AudienceSnapshot> {
    const answer = this.next<AudienceSnapshot>('snapshot', 15_000);
    this.send({ type: 'snapshot' });
    return answer;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- measurements

interface ServerSample {
  atMs: number;
  rssBytes: number;
  fds: number;
  threads: number;
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  ffmpegCpuSeconds: number;
  ffmpegRssBytes: number;
  children: number;
}

async function sampleServer(pid: number): Promise<ServerSample> {
  const tree = await sampleTree(pid);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  // The main thread (tid = pid) runs the event loop: the SFU's forwarding, socket.io and HTTP.
  const mainStat = await readFile(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const mainFields = mainStat.slice(mainStat.lastIndexOf(')') + 2).split(' ');
  return {
    atMs: Date.now(),
    rssBytes: tree.self.rssBytes,
    fds: (await readdir(`/proc/${pid}/fd`)).length,
    threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0),
    cpuSeconds: tree.self.cpuSeconds,
    mainThreadCpuSeconds: (Number(mainFields[11]) + Number(mainFields[12])) / 100,
    ffmpegCpuSeconds: tree.children.cpuSeconds,
    ffmpegRssBytes: tree.children.rssBytes,
    children: tree.childCount,
  };
}

interface ViewerWindow {
  expectedFrames: number;
  receivedFrames: number;
  packets: number;
  lost: number;
}

/**
 * What a viewer got between two snapshots against the frames its publisher sent meanwhile. Frames in
 * flight at the window's edges (a pipeline latency's worth) move from one window to the next; the
 * run's totals are exact.
 */
function viewerWindow(before: ViewerCounters | undefined, after: ViewerCounters, framesSent: number): ViewerWindow {
  if (!before) return { expectedFrames: 0, receivedFrames: 0, packets: 0, lost: 0 };
  return { expectedFrames: framesSent, receivedFrames: after.accessUnits - before.accessUnits, packets: after.rtpPackets - before.rtpPackets, lost: after.packetsLost - before.packetsLost };
}

function sumWindows(windows: ViewerWindow[]): ViewerWindow & { worstDroppedPercent: number } {
  const total = { expectedFrames: 0, receivedFrames: 0, packets: 0, lost: 0, worstDroppedPercent: 0 };
  for (const window of windows) {
    total.expectedFrames += window.expectedFrames;
    total.receivedFrames += window.receivedFrames;
    total.packets += window.packets;
    total.lost += window.lost;
    if (window.expectedFrames > 0) total.worstDroppedPercent = Math.max(total.worstDroppedPercent, (100 * Math.max(0, window.expectedFrames - window.receivedFrames)) / window.expectedFrames);
  }
  return total;
}

const percentOf = (part: number, whole: number): number => (whole > 0 ? (100 * part) / whole : 0);

/** Supervised restarts (from /metrics) and the warnings the server logged: a soak should have neither. */
async function serverHealth(server: RunningServer): Promise<{ processRestarts: Record<string, number>; serverWarnings: number; lastServerWarnings: string[] }> {
  const metrics = await (await api(server, '/metrics')).text();
  const processRestarts: Record<string, number> = {};
  for (const match of metrics.matchAll(/^livefx_process_restarts_total\{role="([^"]+)"\} (\d+)/gm)) processRestarts[match[1]!] = Number(match[2]);
  const warnings = server
    .output()
    .split('\n')
    .filter((line) => /"level":(4|5|6)\d/.test(line));
  return { processRestarts, serverWarnings: warnings.length, lastServerWarnings: warnings.slice(-5).map((line) => line.slice(0, 300)) };
}

/** Processed frames the server has encoded so far, all streams together (from /metrics). */
async function framesEncoded(server: RunningServer): Promise<number> {
  const metrics = await (await api(server, '/metrics')).text();
  return Number(/^livefx_frames_out_total (\d+)/m.exec(metrics)?.[1] ?? Number.NaN);
}

// ---------------------------------------------------------------- phase 1: soak

interface WindowInputs {
  startMs: number;
  sessions: Session[];
  /** Each pair: the previous sample, this one. */
  server: [ServerSample, ServerSample];
  snapshots: [AudienceSnapshot[], AudienceSnapshot[]];
  stats: [StreamSnapshot[], StreamSnapshot[]];
  framesSent: [number[], number[]];
  framesEncoded: [number, number];
  captions: { cues: number; finals: number }[];
}

/** One sampling window of the soak: what the server, the streams and the audiences did in it. */
function soakRow(inputs: WindowInputs) {
  const { startMs, sessions } = inputs;
  const [previousServer, serverSample] = inputs.server;
  const [previousSnapshots, snapshots] = inputs.snapshots;
  const [previousStats, stats] = inputs.stats;
  const [previousSent, sent] = inputs.framesSent;
  const previousCaptions = inputs.captions;
  const seconds = (serverSample.atMs - previousServer.atMs) / 1000;
  const tS = round((serverSample.atMs - startMs) / 1000, 0);
  const latency: number[] = [];
  const perStream = sessions.map((session, index) => {
    const windows = snapshots[index]!.viewers.map((viewer, viewerIndex) => viewerWindow(previousSnapshots[index]!.viewers[viewerIndex], viewer, sent[index]! - previousSent[index]!));
    const total = sumWindows(windows);
    latency.push(...snapshots[index]!.latencyMs);
    const state = stats[index]!;
    return {
      viewers: windows.length,
      framesExpected: total.expectedFrames,
      framesReceived: total.receivedFrames,
      framesDroppedPercent: round(percentOf(Math.max(0, total.expectedFrames - total.receivedFrames), total.expectedFrames), 2),
      worstViewerDroppedPercent: round(total.worstDroppedPercent, 2),
      packetLossPercent: round(percentOf(total.lost, total.packets + total.lost), 2),
      latencyP95Ms: percentile(snapshots[index]!.latencyMs, 0.95),
      serverFramesDropped: state.framesDropped - previousStats[index]!.framesDropped,
      framesOverDeadline: state.chain.framesOverDeadline - previousStats[index]!.chain.framesOverDeadline,
      fpsIn: state.fpsIn,
      fpsOut: state.fpsOut,
      chainMs: round(state.chain.averageMs, 2),
      stageMs: { decode: round(state.stageMs.decode, 1), transforms: round(state.stageMs.transforms, 1), encode: round(state.stageMs.encode, 1) },
      degraded: state.chain.degraded,
      halfResolution: state.chain.halfResolution ?? false,
      transformMs: Object.fromEntries(state.chain.transforms.map((transform) => [transform.name, round(transform.averageMs, 2)])),
      notes: state.chain.transforms.filter((transform) => transform.note).map((transform) => `${transform.name}: ${transform.note}`),
      state: state.state,
      captionCues: session.captions.cues - previousCaptions[index]!.cues,
      captionFinals: session.captions.finals - previousCaptions[index]!.finals,
      chatAcked: snapshots[index]!.chat.acked - previousSnapshots[index]!.chat.acked,
      chatRefused: snapshots[index]!.chat.refused - previousSnapshots[index]!.chat.refused,
      chatReceived: snapshots[index]!.chat.received - previousSnapshots[index]!.chat.received,
    };
  });
  const chatLatency = snapshots.flatMap((snapshot) => snapshot.chat.latencyMs);
  const framesExpected = perStream.reduce((sum, stream) => sum + stream.framesExpected, 0);
  const framesReceived = perStream.reduce((sum, stream) => sum + stream.framesReceived, 0);
  return {
    tS,
    serverRssMb: round(serverSample.rssBytes / 2 ** 20),
    serverFds: serverSample.fds,
    serverThreads: serverSample.threads,
    ffmpegProcesses: serverSample.children,
    ffmpegRssMb: round(serverSample.ffmpegRssBytes / 2 ** 20),
    serverCpuPercent: round((100 * (serverSample.cpuSeconds - previousServer.cpuSeconds)) / seconds),
    serverMainThreadCpuPercent: round((100 * (serverSample.mainThreadCpuSeconds - previousServer.mainThreadCpuSeconds)) / seconds),
    ffmpegCpuPercent: round((100 * (serverSample.ffmpegCpuSeconds - previousServer.ffmpegCpuSeconds)) / seconds),
    audienceCpuPercent: round((100 * snapshots.reduce((sum, snapshot, index) => sum + snapshot.cpuSeconds - previousSnapshots[index]!.cpuSeconds, 0)) / seconds),
    loadAverage1m: round(loadavg()[0]!, 2),
    latencyP50Ms: percentile(latency, 0.5),
    latencyP95Ms: percentile(latency, 0.95),
    latencySamples: latency.length,
    framesExpected,
    framesReceived,
    framesDroppedPercent: round(percentOf(Math.max(0, framesExpected - framesReceived), framesExpected), 2),
    // Both streams together: frames the publishers sent and the server encoded, so a drop can be placed.
    publisherFramesSent: sent.reduce((sum, value, index) => sum + value - previousSent[index]!, 0),
    serverFramesEncoded: inputs.framesEncoded[1] - inputs.framesEncoded[0],
    chatMessagesPerS: round(perStream.reduce((sum, stream) => sum + stream.chatAcked, 0) / seconds, 2),
    chatDeliveryP95Ms: percentile(chatLatency, 0.95),
    streams: perStream,
  };
}

type SoakRow = ReturnType<typeof soakRow>;


async function runSoak(options: Options, speechOgg: string) {
  const durationS = options.minutes * 60;
  const server = await startLivefx();
  const pid = server.process.pid!;
  const sessions: Session[] = [];
  const audiences: AudienceProcess[] = [];
  const live = liveSocket(server, () => sessions);
  try {
    const idle = await sampleServer(pid);
    for (let index = 0; index < options.streams; index++) sessions.push(await startSession(server, index, speechOgg, live));
    // Each chatter may send one message every 2 s after a burst: enough chatters for the rate asked for.
    const chatters = Math.max(1, Math.ceil(options.chatPerS * 2.5));
    const chatIntervalMs = Math.round((chatters / options.chatPerS) * 1000);
    for (const session of sessions) {
      audiences.push(new AudienceProcess({ whepUrl: `${server.url}/whep/${session.id}`, serverUrl: server.url, streamId: session.id, viewers: options.viewers, probe: true, chatters, chatIntervalMs, token: ADMIN_TOKEN }));
    }
    await Promise.all(audiences.map((audience) => audience.ready()));
    console.error(`soak: ${options.streams} streams × ${options.viewers} viewers, ${chatters} chatters each; ${durationS} s, sampling every ${options.sampleS} s`);

    const startMs = Date.now();
    let previousServer = await sampleServer(pid);
    let previousSnapshots = await Promise.all(audiences.map((audience) => audience.snapshot()));
    let previousStats = await Promise.all(sessions.map((session) => streamStats(server, session.id)));
    let previousCaptions = sessions.map((session) => ({ ...session.captions }));
    let previousSent = sessions.map((session) => session.publisher.framesSent);
    let previousEncoded = await framesEncoded(server);
    const rows: SoakRow[] = [];
    const latencyAfterWarmup: number[] = [];
    const chatLatencyAfterWarmup: number[] = [];
    for (let tick = 1; tick * options.sampleS <= durationS; tick++) {
      await sleep(Math.max(0, startMs + tick * options.sampleS * 1000 - Date.now()));
      const sent = sessions.map((session) => session.publisher.framesSent);
      const [serverSample, snapshots, stats, encoded] = await Promise.all([
        sampleServer(pid),
        Promise.all(audiences.map((audience) => audience.snapshot())),
        Promise.all(sessions.map((session) => streamStats(server, session.id))),
        framesEncoded(server),
      ]);
      const row = soakRow({ startMs, sessions, server: [previousServer, serverSample], snapshots: [previousSnapshots, snapshots], stats: [previousStats, stats], framesSent: [previousSent, sent], framesEncoded: [previousEncoded, encoded], captions: previousCaptions });
      if (row.tS > options.warmupS) {
        latencyAfterWarmup.push(...snapshots.flatMap((snapshot) => snapshot.latencyMs));
        chatLatencyAfterWarmup.push(...snapshots.flatMap((snapshot) => snapshot.chat.latencyMs));
      }
      rows.push(row);
      console.error(
        `soak t=${row.tS}s rss ${row.serverRssMb} MiB fds ${row.serverFds} cpu ${row.serverCpuPercent}% (main ${row.serverMainThreadCpuPercent}%, ffmpeg ${row.ffmpegCpuPercent}%, audience ${row.audienceCpuPercent}%) ` +
          `latency p95 ${row.latencyP95Ms} ms, dropped ${row.framesDroppedPercent}% of ${row.framesExpected}, chat ${row.chatMessagesPerS}/s, captions ${row.streams.map((stream) => stream.captionFinals).join('+')}, degraded ${row.streams.map((stream) => stream.degraded).join('/')}`,
      );
      previousServer = serverSample;
      previousSnapshots = snapshots;
      previousStats = stats;
      previousCaptions = sessions.map((session) => ({ ...session.captions }));
      previousSent = sent;
      previousEncoded = encoded;
    }

    const windowS = Math.max(2 * options.sampleS, Math.min(60, durationS / 10));
    const afterWarmup = rows.filter((row) => row.tS > options.warmupS);
    const firstWindow = afterWarmup.filter((row) => row.tS <= options.warmupS + windowS);
    const lastWindow = rows.filter((row) => row.tS > durationS - windowS);
    const growth = (pick: (row: (typeof rows)[number]) => number) => {
      const first = mean(firstWindow.map(pick));
      const last = mean(lastWindow.map(pick));
      return { afterWarmup: round(first), last: round(last), growthPercent: round((100 * (last - first)) / first, 2) };
    };
    const expected = afterWarmup.reduce((sum, row) => sum + row.framesExpected, 0);
    const received = afterWarmup.reduce((sum, row) => sum + row.framesReceived, 0);
    const rss = growth((row) => row.serverRssMb);
    const fds = growth((row) => row.serverFds);
    return {
      date: new Date().toISOString(),
      command: `node dist/benchmarks/soak.js --minutes ${options.minutes} --viewers ${options.viewers} --streams ${options.streams}`,
      machine: { cores: cpus().length, model: cpus()[0]?.model ?? 'unknown' },
      setup: {
        streams: options.streams,
        viewersPerStream: options.viewers,
        input: 'werift publishers: ffmpeg testsrc2 1280x720 30 fps H.264 2.5 Mbit/s + flite speech (ASR_SENTENCES, looped) as Opus',
        chain: FULL_CHAIN.transforms.map((entry) => entry.name),
        chat: `${chatters} chatters per stream on /audience, one message each every ${chatIntervalMs} ms`,
        durationS,
        sampleS: options.sampleS,
        warmupS: options.warmupS,
        growthWindowS: windowS,
        latency: "server receipt of a frame's first RTP packet → arrival of the processed frame at one decoding viewer per stream (burn-in code); the other viewers count packets and frames without decoding",
        framesExpected: 'per viewer, the frames its publisher sent in the window (frames in flight at the edges move between windows; totals are exact)',
        server: 'node dist/server/main.js, own pid: RSS, /proc/<pid>/fd and CPU of the server process; its ffmpeg children counted apart',
      },
      idleServer: { rssMb: round(idle.rssBytes / 2 ** 20), fds: idle.fds, threads: idle.threads },
      summary: {
        framesExpectedAfterWarmup: expected,
        framesReceivedAfterWarmup: received,
        framesDroppedPercentAfterWarmup: round(percentOf(Math.max(0, expected - received), expected), 3),
        publisherFramesSentAfterWarmup: afterWarmup.reduce((sum, row) => sum + row.publisherFramesSent, 0),
        serverFramesEncodedAfterWarmup: afterWarmup.reduce((sum, row) => sum + row.serverFramesEncoded, 0),
        worstWindowDroppedPercent: Math.max(0, ...afterWarmup.map((row) => row.framesDroppedPercent)),
        serverFramesDroppedAfterWarmup: afterWarmup.reduce((sum, row) => sum + row.streams.reduce((inner, stream) => inner + stream.serverFramesDropped, 0), 0),
        latencyMs: { p50: percentile(latencyAfterWarmup, 0.5), p95: percentile(latencyAfterWarmup, 0.95), worstWindowP95: Math.max(...afterWarmup.map((row) => row.latencyP95Ms).filter(Number.isFinite)) },
        rssMb: rss,
        fds,
        rssGrowthUnder5Percent: rss.growthPercent < 5,
        fdGrowthUnder5Percent: fds.growthPercent < 5,
        serverCpuPercentMean: round(mean(afterWarmup.map((row) => row.serverCpuPercent))),
        ffmpegCpuPercentMean: round(mean(afterWarmup.map((row) => row.ffmpegCpuPercent))),
        audienceCpuPercentMean: round(mean(afterWarmup.map((row) => row.audienceCpuPercent))),
        captionFinals: sessions.map((session) => session.captions.finals),
        chat: { messagesPerSMean: round(mean(afterWarmup.map((row) => row.chatMessagesPerS)), 2), deliveryP95Ms: percentile(chatLatencyAfterWarmup, 0.95), refused: rows.reduce((sum, row) => sum + row.streams.reduce((inner, stream) => inner + stream.chatRefused, 0), 0) },
        streamsDegraded: sessions.map((_session, index) => rows.filter((row) => row.streams[index]!.degraded).length),
        // A window in which the publisher sent and no viewer of the stream got a single frame.
        streamStalls: sessions.map((_session, index) => {
          const stalled = rows.filter((row) => row.streams[index]!.framesExpected > 0 && row.streams[index]!.framesReceived === 0);
          return { windows: stalled.length, firstAtS: stalled[0]?.tS ?? null };
        }),
        loadAverage1mMean: round(mean(afterWarmup.map((row) => row.loadAverage1m)), 2),
        ...(await serverHealth(server)),
      },
      samples: rows,
    };
  } finally {
    await Promise.all(audiences.map((audience) => audience.stop()));
    live.disconnect();
    for (const session of sessions) await session.publisher.stop();
    await server.stop();
  }
}

// ---------------------------------------------------------------- phase 2: viewers per core

async function runCapacity(options: Options, speechOgg: string) {
  const server = await startLivefx();
  const pid = server.process.pid!;
  const sessions: Session[] = [];
  const audiences: AudienceProcess[] = [];
  const live = liveSocket(server, () => sessions);
  const startedMs = Date.now();
  const steps = [];
  let stopReason = `reached the last step (${options.capacitySteps.at(-1)})`;
  let health: Awaited<ReturnType<typeof serverHealth>> | undefined;
  try {
    const session = await startSession(server, 0, speechOgg, live);
    sessions.push(session);
    const whepUrl = `${server.url}/whep/${session.id}`;
    const measure = async (viewers: number) => {
      const beforeEncoded = await framesEncoded(server);
      const beforeServer = await sampleServer(pid);
      const beforeSnapshots = await Promise.all(audiences.map((audience) => audience.snapshot()));
      const beforeStats = await streamStats(server, session.id);
      await sleep(options.capacityMeasureS * 1000);
      const afterEncoded = await framesEncoded(server);
      const afterServer = await sampleServer(pid);
      const afterSnapshots = await Promise.all(audiences.map((audience) => audience.snapshot()));
      const afterStats = await streamStats(server, session.id);
      const seconds = (afterServer.atMs - beforeServer.atMs) / 1000;
      const windows = afterSnapshots.flatMap((snapshot, index) => snapshot.viewers.map((viewer, viewerIndex) => viewerWindow(beforeSnapshots[index]!.viewers[viewerIndex], viewer, afterEncoded - beforeEncoded)));
      const total = sumWindows(windows);
      return {
        viewers,
        framesEncoded: afterEncoded - beforeEncoded,
        pipelineStarved: afterEncoded - beforeEncoded < (seconds * FPS) / 2,
        packetLossPercent: round(percentOf(total.lost, total.packets + total.lost), 2),
        framesDroppedPercent: round(percentOf(Math.max(0, total.expectedFrames - total.receivedFrames), total.expectedFrames), 2),
        worstViewerDroppedPercent: round(total.worstDroppedPercent, 2),
        mbitPerViewer: viewers > 0 ? round((total.packets * 1200 * 8) / viewers / seconds / 1e6, 2) : 0,
        serverCpuPercent: round((100 * (afterServer.cpuSeconds - beforeServer.cpuSeconds)) / seconds),
        serverMainThreadCpuPercent: round((100 * (afterServer.mainThreadCpuSeconds - beforeServer.mainThreadCpuSeconds)) / seconds),
        ffmpegCpuPercent: round((100 * (afterServer.ffmpegCpuSeconds - beforeServer.ffmpegCpuSeconds)) / seconds),
        audienceCpuPercent: round((100 * afterSnapshots.reduce((sum, snapshot, index) => sum + snapshot.cpuSeconds - beforeSnapshots[index]!.cpuSeconds, 0)) / seconds),
        audienceProcesses: audiences.length,
        serverFramesDropped: afterStats.framesDropped - beforeStats.framesDropped,
        degraded: afterStats.chain.degraded,
        serverRssMb: round(afterServer.rssBytes / 2 ** 20),
        serverFds: afterServer.fds,
        loadAverage1m: round(loadavg()[0]!, 2),
      };
    };
    await sleep(3000);
    const baseline = await measure(0);
    console.error(`capacity: 0 viewers, server ${baseline.serverCpuPercent}% of a core`);
    steps.push(baseline);
    if (baseline.pipelineStarved) stopReason = `the pipeline encoded only ${baseline.framesEncoded} frames in ${options.capacityMeasureS} s before any viewer joined (stalled or starved)`;
    for (const target of baseline.pipelineStarved ? [] : options.capacitySteps) {
      if ((Date.now() - startedMs) / 1000 > options.capacityMaxS) {
        stopReason = `time budget of ${options.capacityMaxS} s spent before the ${target}-viewer step`;
        break;
      }
      try {
        let current = audiences.reduce((sum, audience) => sum + audience.viewers, 0);
        while (current < target) {
          let audience = audiences.find((candidate) => candidate.viewers < VIEWERS_PER_AUDIENCE);
          const count = Math.min(target - current, VIEWERS_PER_AUDIENCE - (audience?.viewers ?? 0));
          if (!audience) {
            audience = new AudienceProcess({ whepUrl, serverUrl: server.url, streamId: session.id, viewers: count, probe: false, chatters: 0, chatIntervalMs: 0, token: ADMIN_TOKEN });
            audiences.push(audience);
            await audience.ready();
          } else {
            await audience.add(count);
          }
          current += count;
        }
      } catch (error) {
        stopReason = `starting viewers for the ${target}-viewer step failed: ${(error as Error).message}`;
        break;
      }
      await sleep(3000);
      const step = await measure(target);
      steps.push(step);
      if (step.pipelineStarved) {
        // Loss here would be the pipeline's, not the fan-out's: the ramp cannot say anything more.
        stopReason = `the pipeline encoded only ${step.framesEncoded} frames in ${options.capacityMeasureS} s at ${target} viewers (stalled or starved)`;
        break;
      }
      console.error(`capacity: ${target} viewers, loss ${step.packetLossPercent}% packets / ${step.framesDroppedPercent}% frames, server ${step.serverCpuPercent}% (main thread ${step.serverMainThreadCpuPercent}%), audience ${step.audienceCpuPercent}%`);
      if (Math.max(step.packetLossPercent, step.framesDroppedPercent) > LOSS_LIMIT_PERCENT) {
        stopReason = `loss over ${LOSS_LIMIT_PERCENT} % at ${target} viewers`;
        break;
      }
    }
    health = await serverHealth(server);
  } finally {
    await Promise.all(audiences.map((audience) => audience.stop()));
    live.disconnect();
    for (const session of sessions) await session.publisher.stop();
    await server.stop();
  }
  const cores = cpus().length;
  const lossless = steps.filter((step) => step.viewers > 0 && !step.pipelineStarved && Math.max(step.packetLossPercent, step.framesDroppedPercent) <= LOSS_LIMIT_PERCENT);
  const largest = lossless.at(-1);
  const perViewer = largest ? (largest.serverCpuPercent - steps[0]!.serverCpuPercent) / largest.viewers : Number.NaN;
  return {
    date: new Date().toISOString(),
    command: `node dist/benchmarks/soak.js --phase capacity --capacity-steps ${options.capacitySteps.join(',')} --capacity-measure-s ${options.capacityMeasureS}`,
    setup: `one processed 720p30 stream with the full chain and captions; werift WHEP viewers that count packets (no decoding), at most ${VIEWERS_PER_AUDIENCE} per audience process, all on this machine; ${options.capacityMeasureS} s measured per step after 3 s of settling; loss = the larger of RTP packet loss and frames the server encoded that a viewer did not get`,
    cores,
    steps,
    stopReason,
    maxViewersWithLossUnder1Percent: largest?.viewers ?? 0,
    viewersPerCore: largest ? round(largest.viewers / cores, 1) : 0,
    serverCpuPercentPerViewer: round(perViewer, 2),
    serverOnlyViewersPerCoreEstimate: Number.isFinite(perViewer) && perViewer > 0 ? Math.floor(100 / perViewer) : null,
    ...health,
    note: 'viewersPerCore = the largest lossless step / os.cpus().length, with the viewers, the publisher and the server sharing those cores; the estimate extrapolates the server\'s marginal CPU per viewer alone',
  };
}

// ---------------------------------------------------------------- main

const options = parseOptions(process.argv.slice(2));
const resultsDir = path.join(projectRoot, 'benchmarks', 'results');
const resultFile = path.join(resultsDir, 'soak.json');
// Bounded: the whole run may take the soak, set-up time and the ramp's budget, no more.
const hardLimitS = (options.phase !== 'capacity' ? options.minutes * 60 + 240 : 0) + (options.phase !== 'soak' ? options.capacityMaxS + 300 : 0);
const watchdog = setTimeout(() => {
  console.error(`soak: still running after ${hardLimitS} s; giving up`);
  process.exit(1);
}, hardLimitS * 1000);
watchdog.unref();

const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-soak-'));
let exitCode = 0;
try {
  const speechOgg = await prepareSpeech(scratch);
  // A phase not run this time keeps its previous figures (each carries its own date and command).
  const previous = (await readFile(resultFile, 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>).catch(() => ({}))) as { soak?: unknown; capacity?: unknown };
  const soak = options.phase !== 'capacity' ? await runSoak(options, speechOgg) : previous.soak;
  const capacity = options.phase !== 'soak' ? await runCapacity(options, speechOgg) : previous.capacity;
  const result = { benchmark: 'soak: processed 720p30 streams with the full chain, captions, WebRTC viewers and chat', soak, capacity };
  await mkdir(resultsDir, { recursive: true });
  await writeFile(resultFile, `${JSON.stringify(result, null, 2)}\n`);
  const ranSoak = options.phase !== 'capacity' ? (soak as Awaited<ReturnType<typeof runSoak>>) : undefined;
  if (ranSoak) {
    const samples = ranSoak.samples;
    const series = (pick: (row: SoakRow) => number): [number, number][] => samples.map((row) => [row.tS, pick(row)]);
    await writeFile(
      path.join(resultsDir, 'soak.svg'),
      renderLineChart({
        title: `Soak: ${ranSoak.setup.streams} × 720p30 full chain + captions, ${ranSoak.setup.viewersPerStream} WebRTC viewers each, chat`,
        xLabel: 'seconds since the viewers joined',
        marker: { x: ranSoak.setup.warmupS, label: 'end of warm-up' },
        panels: [
          { title: 'latency p95 per window: server receipt → viewer', unit: 'ms', series: ranSoak.samples[0]!.streams.map((_stream, index) => ({ name: `stream ${index + 1}`, points: series((row) => row.streams[index]!.latencyP95Ms) })) },
          { title: 'server RSS (ffmpeg children apart)', unit: 'MiB', series: [{ name: 'server', points: series((row) => row.serverRssMb) }, { name: 'its ffmpeg', points: series((row) => row.ffmpegRssMb) }] },
          { title: 'server open file descriptors', unit: 'fds', series: [{ name: 'server', points: series((row) => row.serverFds) }] },
          { title: 'frames dropped at the viewers', unit: '%', series: [{ name: 'all viewers', points: series((row) => row.framesDroppedPercent) }], target: { value: 1, label: '1 %' } },
          { title: 'CPU', unit: '% of one core', series: [{ name: 'server', points: series((row) => row.serverCpuPercent) }, { name: 'its ffmpeg', points: series((row) => row.ffmpegCpuPercent) }, { name: 'audience', points: series((row) => row.audienceCpuPercent) }] },
        ],
      }),
    );
  }
  const ranCapacity = options.phase !== 'soak' ? (capacity as Awaited<ReturnType<typeof runCapacity>>) : undefined;
  if (ranCapacity) {
    await writeFile(
      path.join(resultsDir, 'soak-capacity.svg'),
      renderBarChart({
        title: 'Viewers of one processed 720p30 stream (full chain): loss and CPU',
        unit: '% (loss) / % of one core (CPU)',
        groups: ranCapacity.steps.map((step) => ({ label: `${step.viewers} viewers`, values: { 'loss %': Math.max(step.packetLossPercent, step.framesDroppedPercent), 'server CPU %': step.serverCpuPercent, 'audience CPU %': step.audienceCpuPercent } })),
        target: { value: LOSS_LIMIT_PERCENT, label: 'loss 1 %' },
      }),
    );
  }
  console.log(JSON.stringify({ soak: ranSoak?.summary, capacity: ranCapacity && { ...ranCapacity, steps: undefined } }, null, 2));
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await rm(scratch, { recursive: true, force: true });
}
process.exit(exitCode);
