import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from test/helpers/ (sources) and from dist/test/helpers/ (built, run by benchmarks). */
const here = path.dirname(fileURLToPath(import.meta.url));
const repositoryOrDist = path.resolve(here, '..', '..');
export const projectRoot = path.basename(repositoryOrDist) === 'dist' ? path.dirname(repositoryOrDist) : repositoryOrDist;

/** The admin token test and benchmark servers are started with (LIVEFX_ADMIN_TOKEN). */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/**
 * fetch() as the admin: adds `Authorization: Bearer ADMIN_TOKEN` unless the request names its own
 * (WHIP sends the stream key). Tests of the API's behaviour use it; tests of access control use fetch.
 */
export function adminFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${ADMIN_TOKEN}`);
  return fetch(input, { ...init, headers });
}

export interface RunningServer {
  url: string;
  dataDir: string;
  process: ChildProcess;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the built server (dist/server/main.js) as a real child process on a free port with its own
 * data directory, as a user would start it, and waits until it answers /healthz.
 */
export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-test-'));
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'server', 'main.js')], {
    cwd: projectRoot,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_LOG_LEVEL: 'info', LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left behind: a server that never said it runs is killed before the test fails.
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 20 s:\n${output}`));
    }, 20_000);
    const onData = (): void => {
      const match = /livefx is running at (https?:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it started:\n${output}`));
    });
  });
  const health = await fetch(`${url}/healthz`);
  if (!health.ok) throw new Error(`server is not healthy: ${health.status}`);
  return {
    url,
    dataDir,
    process: child,
    output: () => output,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      const code =
        child.exitCode !== null
          ? child.exitCode
          : await new Promise<number | null>((resolve) => {
              child.once('exit', (exitCode) => resolve(exitCode));
              child.kill(signal);
            });
      await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Creates a stream through the public API. */
export interface CreatedStream {
  id: string;
  streamKey: string;
  operatorToken: string;
  operatorTokenId: string;
  visibility: 'public' | 'private';
  viewerLink?: { token: string; expiresAt: string; url: string };
  /** With LIVEFX_REDIS_URL: the node the stream was placed on. */
  node?: { id: string; url: string };
  urls: Record<string, string>;
}

/** Creates a stream through the public API, as the admin. */
export async function createStream(url: string, title = 'test stream', options: { visibility?: 'public' | 'private'; record?: boolean } = {}): Promise<CreatedStream> {
  const response = await adminFetch(`${url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title, ...options }) });
  if (response.status !== 201) throw new Error(`create stream failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as CreatedStream;
}

/** PIDs of ffmpeg processes whose parent is the given process (the server runs them in its worker threads). */
export async function ffmpegChildren(parentPid: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const state = afterName[0];
      const ppid = Number(afterName[1]);
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // Zombies count too: a reaped-too-late child is a leak as much as a running one.
      if (ppid === parentPid && name === 'ffmpeg' && state !== undefined) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/** A stream's recording once it has started, as the admin's GET /v1/recordings?streamId= lists it. */
export async function recordingInProgress(url: string, streamId: string): Promise<{ id: string; state: string; startedAt: string }> {
  return waitFor('the recording in progress', async () => {
    const list = (await (await adminFetch(`${url}/v1/recordings?streamId=${streamId}`)).json()) as { recordings: { id: string; state: string; startedAt: string }[] };
    return list.recordings[0];
  });
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
