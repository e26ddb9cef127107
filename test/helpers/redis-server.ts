import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A real Redis (Debian's redis-server) on a free loopback port, in a temp dir, for one test file. */
export interface RunningRedis {
  url: string;
  port: number;
  /** Stops it (SIGTERM, no save) and waits until it is gone; data goes unless `appendOnly`. */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port and dir (what it kept: only with `appendOnly`). */
  restart(downMs?: number): Promise<void>;
  /** Stops it for good and removes its dir. Idempotent. */
  close(): Promise<void>;
}

export interface RedisServerOptions {
  /** Keep an append-only file, so a restart keeps the queues (the Redis-restart fault test). Default: no persistence at all. */
  appendOnly?: boolean;
  /** Allow `DEBUG` from loopback clients (`DEBUG SLEEP` pauses the server: the Redis-pause tests). Default: off, as Redis ships. */
  debugCommand?: boolean;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function launch(port: number, dir: string, appendOnly: boolean, debugCommand = false): Promise<ChildProcess> {
  const args = [...(debugCommand ? ['--enable-debug-command', 'local'] : []), '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', appendOnly ? 'yes' : 'no', '--appendfsync', 'always', '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not answer on port ${port} within 15 s:\n${output}`)), 15_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`redis-server could not start (is Debian's redis-server installed? scripts/setup.sh installs it): ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
    const poll = (): void => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.end();
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(child);
      });
      socket.once('error', () => setTimeout(poll, 50));
    };
    poll();
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Starts redis-server with no persistence (`--save '' --appendonly no`) unless asked, on a free port. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RunningRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'livefx-redis-'));
  const port = await freePort();
  const appendOnly = options.appendOnly ?? false;
  const debugCommand = options.debugCommand ?? false;
  let child: ChildProcess | undefined = await launch(port, dir, appendOnly, debugCommand);
  let closed = false;
  const stop = async (): Promise<void> => {
    if (child) await stopProcess(child);
    child = undefined;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    restart: async (downMs = 0) => {
      await stop();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      child = await launch(port, dir, appendOnly, debugCommand);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
