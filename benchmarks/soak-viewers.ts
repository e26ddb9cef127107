// Audience process of the soak benchmark (started with child_process.fork by soak.ts): N werift WHEP
// viewers of one stream, the first optionally decoding to read the burn-in latency code, and chatters
// on socket.io `/audience`. It answers the parent's `snapshot` requests with cumulative counters, so
// the clients' CPU and memory stay out of the server's figures. Protocol: soak-protocol.ts.
import { io, type Socket } from 'socket.io-client';
import { WhepClient } from '../test/helpers/whep-client.js';
import { captureMsDelta } from '../transforms/burn-in-layout.js';
import type { AudienceConfig, FromAudience, ToAudience } from './soak-protocol.js';

/** Viewers negotiate in small batches: a burst of DTLS handshakes would time out on a busy machine. */
const START_BATCH = 5;

const config = JSON.parse(process.argv[2] ?? '') as AudienceConfig;
const viewers: WhepClient[] = [];
const chatters: Socket[] = [];
const chatTimers: NodeJS.Timeout[] = [];
const chat = { sent: 0, acked: 0, refused: 0, received: 0, latencyMs: [] as number[] };

function send(message: FromAudience): void {
  process.send!(message);
}

async function addViewers(count: number): Promise<void> {
  for (let started = 0; started < count; started += START_BATCH) {
    const batch = Array.from({ length: Math.min(START_BATCH, count - started) }, () => {
      const decode = config.probe && viewers.length === 0;
      const viewer = new WhepClient(config.whepUrl, decode);
      viewers.push(viewer);
      return viewer.start();
    });
    await Promise.all(batch);
  }
}

function drainProbeLatency(): number[] {
  const probe = config.probe ? viewers[0] : undefined;
  if (!probe) return [];
  // The probe keeps every decoded frame; taking them out keeps a 10-minute run's memory flat.
  const frames = probe.frames.splice(0);
  const samples: number[] = [];
  for (const frame of frames) if (frame.code) samples.push(captureMsDelta(frame.receivedMs, frame.code.captureMsLow));
  return samples;
}

async function startChatters(): Promise<void> {
  const listener = (message: { text?: unknown }): void => {
    const match = typeof message.text === 'string' ? /^soak (\d+) /.exec(message.text) : null;
    if (!match) return;
    chat.received++;
    chat.latencyMs.push(Date.now() - Number(match[1]));
  };
  for (let index = 0; index < config.chatters; index++) {
    const socket = io(`${config.serverUrl}/audience`, { auth: { token: config.token }, transports: ['websocket'] });
    chatters.push(socket);
    const joined = await socket.timeout(10_000).emitWithAck('join', { streamId: config.streamId, name: `soak-${process.pid}-${index}` }) as { ok: boolean; error?: { code: string; message: string } };
    if (!joined.ok) throw new Error(`chatter ${index} could not join: ${joined.error?.code} ${joined.error?.message}`);
    // One chatter measures delivery; every chatter gets the broadcast, so counting one is enough.
    if (index === 0) socket.on('chat', listener);
    let sequence = 0;
    const post = (): void => {
      chat.sent++;
      socket.timeout(10_000).emit('chat', { streamId: config.streamId, text: `soak ${Date.now()} ${index}-${sequence++}` }, (error: Error | null, ack: { ok: boolean } | undefined) => {
        if (!error && ack?.ok) chat.acked++;
        else chat.refused++;
      });
    };
    // Staggered so the stream sees an even rate instead of bursts.
    const offset = Math.round((index / config.chatters) * config.chatIntervalMs);
    chatTimers.push(
      setTimeout(() => {
        post();
        chatTimers.push(setInterval(post, config.chatIntervalMs));
      }, offset),
    );
  }
}

async function stop(): Promise<void> {
  for (const timer of chatTimers) clearInterval(timer);
  for (const socket of chatters) socket.disconnect();
  await Promise.all(viewers.map((viewer) => viewer.stop().catch(() => undefined)));
  process.exit(0);
}

process.on('message', (message: ToAudience) => {
  if (message.type === 'snapshot') {
    const usage = process.cpuUsage();
    const latencyMs = drainProbeLatency();
    send({
      type: 'snapshot',
      atMs: Date.now(),
      viewers: viewers.map((viewer) => ({ accessUnits: viewer.accessUnits, rtpPackets: viewer.rtpPackets, packetsLost: viewer.packetsLost })),
      latencyMs,
      chat: { sent: chat.sent, acked: chat.acked, refused: chat.refused, received: chat.received, latencyMs: chat.latencyMs.splice(0) },
      cpuSeconds: (usage.user + usage.system) / 1e6,
      rssBytes: process.memoryUsage.rss(),
    });
  } else if (message.type === 'add') {
    addViewers(message.count).then(
      () => send({ type: 'added', viewers: viewers.length }),
      (error: unknown) => send({ type: 'error', message: `adding viewers failed: ${String(error)}` }),
    );
  } else if (message.type === 'stop') {
    void stop();
  }
});
// Orphaned (the benchmark died): leave instead of holding connections to a server nobody measures.
process.on('disconnect', () => process.exit(1));

try {
  await addViewers(config.viewers);
  await startChatters();
  send({ type: 'ready', viewers: viewers.length });
} catch (error) {
  send({ type: 'error', message: `audience start failed: ${String(error)}` });
  await stop();
}
