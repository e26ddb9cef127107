import { rm } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
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
