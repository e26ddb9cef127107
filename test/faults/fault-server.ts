import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { ADMIN_TOKEN, adminFetch, createStream as createAdminStream, startServer, waitFor, type RunningServer } from '../helpers/livefx-process.js';

export { ADMIN_TOKEN };

/** Starts the built server as a child process (with the admin token startServer configures). */
export function startFaultServer(env: Record<string, string> = {}): Promise<RunningServer> {
  return startServer(env);
}

/** afterAll of a fault test: stops the servers still running and removes every folder (a killed server's too). */
export async function cleanUp(servers: readonly RunningServer[], folders: readonly string[]): Promise<void> {
  for (const server of servers) {
    // stop() waits for an exit; a server the test already stopped or killed only leaves its folder.
    if (server.process.exitCode !== null || server.process.signalCode !== null) await rm(server.dataDir, { recursive: true, force: true });
    else await server.stop('SIGTERM');
  }
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
}

/** An HTTP API request with the admin bearer token. */
export const api = adminFetch;

export async function apiJson(url: string, init: RequestInit = {}): Promise<any> {
  const response = await api(url, init);
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Downloads a finished recording's media of one kind into the server's data directory; answers the file. */
export async function downloadRecordingMedia(server: RunningServer, recordingId: string, kind: string): Promise<string> {
  const response = await api(`${server.url}/v1/recordings/${recordingId}/media/${kind}`);
  expect(response.status).toBe(200);
  const file = path.join(server.dataDir, `download-${kind}.mp4`);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

export const createStream = (serverUrl: string, title: string): ReturnType<typeof createAdminStream> => createAdminStream(serverUrl, title);

/** The one recording of a stream, once it exists. */
export function recordingOf(serverUrl: string, streamId: string): Promise<any> {
  return waitFor(`a recording of ${streamId}`, async () => (await apiJson(`${serverUrl}/v1/recordings?streamId=${streamId}`)).recordings[0]);
}

/** The recording's event log, as the API serves it. */
export async function eventsOf(serverUrl: string, recordingId: string): Promise<any[]> {
  const text = await (await api(`${serverUrl}/v1/recordings/${recordingId}/events`)).text();
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

/** A socket.io client of one namespace, authenticated as admin. */
export function socketOf(serverUrl: string, namespace: string): Socket {
  return io(`${serverUrl}${namespace}`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'] });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A child process of the server, as /proc shows it. */
export interface ChildProcessInfo {
  pid: number;
  name: string;
  cmdline: string;
}

/** Every live process whose parent is `parentPid` (zombies included: a child not reaped is a leak too). */
export async function childrenOf(parentPid: number): Promise<ChildProcessInfo[]> {
  const children: ChildProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parentPid) continue;
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ');
      children.push({ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cmdline });
    } catch {
      // it ended while we looked
    }
  }
  return children;
}

/** Processes (any parent) whose command line mentions `text`, e.g. a server's data directory; `liveOnly` leaves zombies out. */
export async function processesMentioning(text: string, { liveOnly = false }: { liveOnly?: boolean } = {}): Promise<ChildProcessInfo[]> {
  const found: ChildProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ');
      if (!cmdline.includes(text)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (liveOnly && stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      found.push({ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cmdline });
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

/** True while the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** ffprobe's duration of a media file, and how many video frames decode from it (-count_frames). */
export function probeMedia(file: string): { durationS: number; videoFrames: number } {
  const result = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'format=duration:stream=nb_read_frames', '-of', 'json', file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ffprobe could not read ${file}: ${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as { format: { duration?: string }; streams: { nb_read_frames?: string }[] };
  return { durationS: Number(parsed.format.duration ?? 0), videoFrames: Number(parsed.streams[0]?.nb_read_frames ?? 0) };
}
