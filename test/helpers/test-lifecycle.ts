import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { makeSpeech, type SpeechFixture, type SpeechOptions } from './asr-speech.js';
import { launchChromium } from './chromium.js';
import { startServer, type RunningServer } from './livefx-process.js';

/** What a test file opened and must close after its tests; any part may be missing when start-up failed. */
export interface OpenedForTests {
  server?: RunningServer | undefined;
  browser?: Browser | undefined;
  sockets?: readonly Socket[];
  /** A scratch folder of the file's fixtures, removed last. */
  scratch?: string | undefined;
}

/** The built server and Debian's Chromium, started together for a file of browser tests. */
export async function startServerAndChromium(env: Record<string, string> = {}): Promise<{ server: RunningServer; browser: Browser }> {
  const server = await startServer(env);
  try {
    return { server, browser: await launchChromium() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** A socket.io client over WebSocket only at `url` (namespace included), signed in with `token` when given, kept in `sockets` for closeAfterTests. */
export function trackedSocket(sockets: Socket[], url: string, token?: string): Socket {
  const socket = io(url, { transports: ['websocket'], ...(token === undefined ? {} : { auth: { token } }) });
  sockets.push(socket);
  return socket;
}

/** Closes the browser first (its pages hold connections to the server), then the sockets, then the server; removes the scratch folder last. */
export async function closeAfterTests(opened: OpenedForTests): Promise<void> {
  await opened.browser?.close();
  for (const socket of opened.sockets ?? []) socket.close();
  await opened.server?.stop();
  if (opened.scratch) await rm(opened.scratch, { recursive: true, force: true });
}

/** A scratch folder under the system's temporary one, made before the file's tests (or before each test) and removed after; read `.path` inside a test. */
export function scratchFolder(prefix: string, per: 'file' | 'test' = 'file'): { readonly path: string } {
  const folder = { path: '' };
  (per === 'file' ? beforeAll : beforeEach)(async () => {
    folder.path = await mkdtemp(path.join(tmpdir(), prefix));
  });
  (per === 'file' ? afterAll : afterEach)(() => rm(folder.path, { recursive: true, force: true }));
  return folder;
}

/** The built server for a file of tests, started before them; it and the sockets put in `sockets` are closed after. */
export function serverForFile(env: Record<string, string> = {}): { readonly server: RunningServer; readonly sockets: Socket[] } {
  const opened = { server: undefined as unknown as RunningServer, sockets: [] as Socket[] };
  beforeAll(async () => {
    opened.server = await startServer(env);
  });
  afterAll(() => closeAfterTests(opened));
  return opened;
}

/** Spoken `sentences` (makeSpeech, as `speech.wav`) in a scratch folder of their own, made before the tests of the file or describe block it is called in and removed after them. */
export function speechFolder(prefix: string, sentences: string[], options: SpeechOptions): { readonly dir: string; readonly speech: SpeechFixture } {
  const scratch = scratchFolder(prefix);
  const made = { dir: '', speech: undefined as unknown as SpeechFixture };
  beforeAll(async () => {
    made.dir = scratch.path;
    made.speech = await makeSpeech(scratch.path, 'speech', sentences, options);
  });
  return made;
}
