// The werift WHIP publisher with a microphone track (an Ogg Opus file, looped), as the soak benchmark
// uses it: its speech reaches the server's live captions like a browser's would.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSpeech, normaliseWords } from './helpers/asr-speech.js';
import { ADMIN_TOKEN, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { WhipClient } from './helpers/whip-client.js';
import { oggOpusPackets } from '../core/media/ogg-opus-packets.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const SENTENCES = ['Please bring your notes and a pen.', 'The train leaves in twenty minutes.'];
let dir: string;
let speechOgg: string;
let speechWav: string;
let speechMs: number;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livefx-whip-audio-'));
  const speech = await makeSpeech(dir, 'speech', SENTENCES, { leadSilenceMs: 500, gapMs: 1500 });
  speechWav = speech.file;
  speechMs = speech.durationMs;
  speechOgg = path.join(dir, 'speech.ogg');
  const encoded = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', speech.file, '-ar', '48000', '-ac', '2', '-c:a', 'libopus', '-b:a', '48k', '-frame_duration', '20', speechOgg]);
  expect(encoded.status, encoded.stderr.toString()).toBe(0);
  server = await startServer({ LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_LOG_LEVEL: 'warn' });
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('Ogg Opus packets', () => {
  it('gives one 20 ms packet per 20 ms of audio, without the two header packets', async () => {
    const packets = oggOpusPackets(await readFile(speechOgg));
    // The encoder pads the end to whole packets and adds its pre-skip: a packet or a few more.
    expect(packets.length).toBeGreaterThanOrEqual(Math.floor(speechMs / 20));
    expect(packets.length).toBeLessThanOrEqual(Math.ceil(speechMs / 20) + 5);
    expect(packets.some((packet) => packet.toString('latin1', 0, 8) === 'OpusHead' || packet.toString('latin1', 0, 8) === 'OpusTags')).toBe(false);
  });

  it('refuses a file that is not Ogg Opus, naming what is wrong', async () => {
    expect(() => oggOpusPackets(Buffer.from('RIFF....WAVEfmt '.repeat(4)))).toThrow(/not an Ogg page at byte 0/);
    expect(() => oggOpusPackets(Buffer.alloc(0))).toThrow(/not an Ogg Opus file/);
    const wav = await readFile(speechWav);
    expect(() => oggOpusPackets(wav)).toThrow(/not an Ogg page/);
  });
});

describe('WHIP publisher with a microphone file', () => {
  it('sends the speech in real time and the stream captions it', async () => {
    const created = await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'whip audio', record: false }) });
    expect(created.status).toBe(201);
    const stream = (await created.json()) as { id: string; streamKey: string };
    const put = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ transforms: [{ name: 'subtitles' }] }) });
    expect(put.status).toBe(200);
    const live: Socket = io(`${server.url}/live`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'] });
    const finals: string[] = [];
    live.on('caption', (message: { streamId: string; cue: { text: string; final: boolean } }) => {
      if (message.streamId === stream.id && message.cue.final) finals.push(message.cue.text);
    });
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240, audioFile: speechOgg });
    try {
      expect(((await live.timeout(10_000).emitWithAck('subscribe', { streamId: stream.id })) as { ok: boolean }).ok).toBe(true);
      await publisher.start();
      const startedMs = Date.now();
      // The file loops: the speech is heard again and again, so the words keep coming.
      const heard = await waitFor('a final caption with a spoken word', () => {
        const words = new Set(finals.flatMap((text) => normaliseWords(text)));
        return ['notes', 'pen', 'train', 'minutes'].some((word) => words.has(word)) ? [...words] : undefined;
      }, 30_000, 200);
      expect(heard.length).toBeGreaterThan(0);
      const seconds = (Date.now() - startedMs) / 1000;
      // Real time: 50 packets a second, not the whole file at once.
      expect(publisher.audioPacketsSent).toBeGreaterThan(40 * seconds);
      expect(publisher.audioPacketsSent).toBeLessThan(55 * seconds + 10);
    } finally {
      live.disconnect();
      await publisher.stop();
    }
  });
});
