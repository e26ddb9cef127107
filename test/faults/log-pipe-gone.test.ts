import { afterAll, describe, expect, it } from 'vitest';
import { waitFor, type RunningServer } from '../helpers/livefx-process.js';
import { api, cleanUp, createStream, startFaultServer } from './fault-server.js';

const servers: RunningServer[] = [];

afterAll(async () => {
  // A server that ignored SIGTERM (the defect) must not outlive the test.
  for (const server of servers) if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill('SIGKILL');
  await cleanUp(servers, []);
});

/** Resolves with the exit code, or with 'still running' when the process outlives `ms`. */
function exitWithin(server: RunningServer, ms: number): Promise<number | null | 'still running'> {
  if (server.process.exitCode !== null) return Promise.resolve(server.process.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still running'), ms);
    server.process.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Starts a server, then closes both read ends of its stdout and stderr pipes: the test was its only log reader. */
async function serverWithoutLogReader(): Promise<RunningServer> {
  const server = await startFaultServer();
  servers.push(server);
  server.process.stdout!.destroy();
  server.process.stderr!.destroy();
  return server;
}

/** SIGTERM, then the exit code and how long it took; the hard deadline in main.ts is 10 s. */
async function terminate(server: RunningServer, what: string): Promise<{ code: number | null | 'still running'; exitMs: number }> {
  const signalledMs = Date.now();
  server.process.kill('SIGTERM');
  // 30 s leaves room on a loaded machine and still catches a server that ignores the signal.
  const code = await exitWithin(server, 30_000);
  const exitMs = Date.now() - signalledMs;
  console.log(`fault log-pipe-gone (${what}): ${JSON.stringify({ code, exitMs })}`);
  return { code, exitMs };
}

describe('fault: the log reader is gone (a dead `tee` or log collector)', () => {
  it('an idle server whose first failing log line is "shutting down" still exits 0 on SIGTERM', async () => {
    const server = await serverWithoutLogReader();
    expect((await fetch(`${server.url}/healthz`)).ok).toBe(true);
    const { code } = await terminate(server, 'idle');
    expect(code).toBe(0);
  }, 90_000);

  it('keeps serving while every log write fails with EPIPE, then exits 0 on SIGTERM', async () => {
    const server = await serverWithoutLogReader();
    // Work that logs (a stream created, a refused request) writes into the dead pipe.
    const stream = await createStream(server.url, 'unlogged');
    expect((await api(`${server.url}/v1/streams/no-such-stream`)).status).toBe(404);
    await waitFor('a healthy answer with the log pipe gone', async () => ((await fetch(`${server.url}/healthz`)).ok ? true : undefined));
    expect((await api(`${server.url}/v1/streams/${stream.id}`)).status).toBe(200);
    const { code } = await terminate(server, 'after logging');
    expect(code).toBe(0);
  }, 90_000);
});
