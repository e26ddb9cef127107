import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** Debian's PostgreSQL binaries: the newest /usr/lib/postgresql/<version>/bin that has initdb. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => existsSync(path.join(root, name, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/initdb): `apt-get install postgresql` (scripts/setup.sh --test does)');
  return path.join(root, newest, 'bin');
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/** The `postgres` user's ids when we run as root (PostgreSQL refuses to run as root); undefined otherwise. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root needs the "postgres" user (the postgresql package makes it)');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** argv that runs `command` as the postgres user (setpriv execs in place, so a death signal reaches PostgreSQL itself). */
function asPostgres(command: string[], deathSignal: boolean): string[] {
  if (!postgresUser()) return command;
  return ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', ...(deathSignal ? ['--pdeathsig', 'KILL'] : []), '--', ...command];
}

/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temporary directory (owned by
 * the postgres user when we are root), the server on a free port of 127.0.0.1 with its socket in that
 * directory, fsync off, started as our child with a death signal (a crashed test leaves no server).
 * stop()/start() take the server down and bring it back on the same port and data; close() removes everything.
 */
export class PostgresServer {
  readonly port: number;
  readonly dir: string;
  private child: ChildProcess | undefined;
  private log = '';
  private databases = 0;
  private closing: Promise<void> | undefined;

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }

  /** A new cluster, started. */
  static async create(): Promise<PostgresServer> {
    const dir = await mkdtemp(path.join(tmpdir(), 'livefx-pg-'));
    const user = postgresUser();
    if (user) chownSync(dir, user.uid, user.gid);
    const bin = postgresBinDir();
    const initdbArgv = asPostgres([path.join(bin, 'initdb'), '-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8'], false);
    const initdb = spawnSync(initdbArgv[0]!, initdbArgv.slice(1), { encoding: 'utf8' });
    if (initdb.status !== 0) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`initdb failed (${initdb.status}): ${initdb.stderr}`);
    }
    const server = new PostgresServer(dir, await freePort());
    try {
      await server.start();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** The URL of a database of this cluster (`postgres` by default). */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the server (again) on the same port and data directory; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.child) return;
    const argv = asPostgres(
      [path.join(postgresBinDir(), 'postgres'), '-D', path.join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
      true,
    );
    const child = (this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (this.log += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.log += text));
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.child !== child) throw new Error(`PostgreSQL exited at start:\n${this.log.slice(-2000)}`);
      const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => {});
        if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within 30 s:\n${this.log.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Takes the server down (fast shutdown: open connections are cut) and waits until it has exited; the data stays. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(hard);
  }

  /** A new, empty database on this cluster; its URL. */
  async createDatabase(prefix = 'livefx'): Promise<string> {
    const name = `${prefix}_${process.pid}_${++this.databases}`;
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /** What the server logged so far. */
  output(): string {
    return this.log;
  }

  /** Stops the server and removes its directory. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.stop();
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.closing;
  }
}
