import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { LivefxError } from './errors.js';
import type { Logger } from './logger.js';
import { MigrationError, type Migration } from './database.js';

/** The advisory lock every node takes while it migrates (one number for livefx; two nodes starting at once take turns). */
const MIGRATION_LOCK = 0x6c6678; // "lfx"

/** How long a request waits for a connection before it is answered 503 store_unavailable. */
const CONNECT_TIMEOUT_MS = 5000;

/** How long the notification listener waits before it connects again after losing its connection. */
const LISTEN_RETRY_MS = 1000;

/** Node's and PostgreSQL's ways of saying "the server is not there": refused, reset, shut down, starting, full. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const CONNECTION_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Client was closed|terminating connection/i;

/** Whether an error from `pg` means the database could not be reached (as opposed to a refused statement). */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_ERRNOS.has(code) || CONNECTION_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  if (error instanceof AggregateError) return error.errors.some(isConnectionFailure);
  return CONNECTION_MESSAGES.test(error.message);
}

/** `?` placeholders (as SQLite writes them) numbered `$1, $2, …` for PostgreSQL; for shared clauses that hold no literal `?`. */
export function numberPlaceholders(sql: string, first = 1): string {
  let next = first;
  return sql.replace(/\?/g, () => `$${next++}`);
}

/** The URL as it may be shown: the password replaced by `***`. */
export function maskedDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

/** What a query runs on: the pool, or one client inside a transaction. */
export interface PostgresQueryable {
  query<Row extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: Row[]; rowCount: number }>;
}

export interface PostgresDatabaseOptions {
  /** LIVEFX_DATABASE_URL. */
  url: string;
  /** The full list: the steps that have PostgreSQL text are applied, in order. */
  migrations: readonly Migration[];
  log: Logger;
  /** Connections kept per node (default 10). */
  maxConnections?: number;
}

/**
 * The shared PostgreSQL database (LIVEFX_DATABASE_URL) behind the networked stores. Opening migrates
 * under an advisory lock; afterwards every query that cannot reach the server fails with a LivefxError
 * `store_unavailable` (503), and the pool reconnects by itself on the next query once the server is back.
 */
export class PostgresDatabase implements PostgresQueryable {
  readonly url: string;
  /** The ids this opening applied (empty when another node had, or the schema was current). */
  readonly applied: string[] = [];
  /** This process's id in notifications, so it can skip its own. */
  readonly nodeId = randomUUID();
  private readonly pool: pg.Pool;
  private readonly log: Logger;
  private readonly connectionString: string;
  private reachable = true;
  private closing: Promise<void> | undefined;
  private readonly listeners = new Map<string, ((payload: unknown) => void)[]>();
  private listener: pg.Client | undefined;
  private listenRetry: NodeJS.Timeout | undefined;

  private constructor(options: PostgresDatabaseOptions) {
    this.url = maskedDatabaseUrl(options.url);
    this.connectionString = options.url;
    this.log = options.log;
    this.pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, idleTimeoutMillis: 30_000 });
    // An idle connection cut by a restart or an outage is reported here; the next query opens a new one.
    this.pool.on('error', (error) => this.noteFailure(error));
  }

  /** Connects and migrates; a server that cannot be reached is a store_unavailable error naming the (masked) URL. */
  static async open(options: PostgresDatabaseOptions): Promise<PostgresDatabase> {
    const database = new PostgresDatabase(options);
    try {
      await database.migrate(options.migrations.filter((migration) => migration.postgres !== undefined));
    } catch (error) {
      await database.close();
      throw error;
    }
    return database;
  }

  /** Whether the last query reached the server. */
  get available(): boolean {
    return this.reachable;
  }

  async query<Row extends object = Record<string, unknown>>(text: string, values: readonly unknown[] = []): Promise<{ rows: Row[]; rowCount: number }> {
    return this.guard(async () => {
      const result = await this.pool.query<Row>(text, values as unknown[]);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    });
  }

  /** The first row a query returns, as `map` makes it; undefined when it returns none. */
  async queryOne<Row extends object, T>(text: string, values: readonly unknown[], map: (row: Row) => T): Promise<T | undefined> {
    const { rows } = await this.query<Row>(text, values);
    return rows[0] ? map(rows[0]) : undefined;
  }

  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  async transaction<T>(work: (client: PostgresQueryable) => Promise<T>): Promise<T> {
    return this.guard(async () => {
      const client = await this.pool.connect();
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async <Row extends object>(text: string, values: readonly unknown[] = []) => {
            const answer = await client.query<Row>(text, values as unknown[]);
            return { rows: answer.rows, rowCount: answer.rowCount ?? 0 };
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        broken = isConnectionFailure(error) ? error : undefined;
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        // A connection that failed mid-transaction is dropped, not reused.
        client.release(broken === undefined ? undefined : (broken as Error));
      }
    });
  }

  /**
   * Calls `handler` with what other nodes `notify` on `channel` (PostgreSQL LISTEN/NOTIFY over one
   * connection of its own, connected again after an outage); this node's own notifications are skipped.
   */
  listen(channel: string, handler: (payload: unknown) => void): void {
    const handlers = this.listeners.get(channel) ?? [];
    handlers.push(handler);
    this.listeners.set(channel, handlers);
    if (this.listener) void this.listener.query(`LISTEN ${pg.escapeIdentifier(channel)}`).catch(() => undefined);
    else this.connectListener();
  }

  /** Tells the other nodes listening on `channel` (best effort: a node that is not connected misses it). */
  async notify(channel: string, payload: unknown): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ from: this.nodeId, payload })]);
  }

  /** Ends every connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.listenRetry);
      const listener = this.listener;
      this.listener = undefined;
      await listener?.end().catch(() => undefined);
      await this.pool.end().catch((error: unknown) => this.log.warn({ err: error }, 'PostgreSQL pool did not close cleanly'));
    })();
    return this.closing;
  }

  private connectListener(): void {
    if (this.closing || this.listener || this.listenRetry) return;
    const client = (this.listener = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS }));
    const retry = (): void => {
      if (this.listener !== client) return;
      this.listener = undefined;
      void client.end().catch(() => undefined);
      if (this.closing) return;
      this.listenRetry = setTimeout(() => {
        this.listenRetry = undefined;
        this.connectListener();
      }, LISTEN_RETRY_MS);
      this.listenRetry.unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => {
      let parsed: { from?: unknown; payload?: unknown };
      try {
        parsed = JSON.parse(message.payload ?? '') as typeof parsed;
      } catch {
        return;
      }
      if (parsed.from === this.nodeId) return;
      for (const handler of this.listeners.get(message.channel) ?? []) {
        try {
          handler(parsed.payload);
        } catch (error) {
          this.log.error({ err: error, channel: message.channel }, 'a PostgreSQL notification handler failed');
        }
      }
    });
    client
      .connect()
      .then(async () => {
        for (const channel of this.listeners.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      })
      .catch(retry);
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      if (!this.reachable) {
        this.reachable = true;
        this.log.info({ database: this.url }, 'PostgreSQL is reachable again');
      }
      return result;
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      this.noteFailure(error);
      throw new LivefxError('store_unavailable', `the shared store (PostgreSQL at ${this.url}) cannot be reached: ${reason(error)}; try again shortly`, { cause: error });
    }
  }

  private noteFailure(error: unknown): void {
    if (!this.reachable) return;
    this.reachable = false;
    this.log.warn({ database: this.url, reason: reason(error) }, 'PostgreSQL cannot be reached: calls that need the shared store answer 503 store_unavailable until it is back');
  }

  /** Applies what is missing, in list order, in one transaction, while holding the advisory lock (other nodes wait for it). */
  private async migrate(migrations: readonly Migration[]): Promise<void> {
    const ids = new Set<string>();
    for (const migration of migrations) {
      if (ids.has(migration.id)) throw new MigrationError(`migration "${migration.id}" appears twice in the list`);
      ids.add(migration.id);
    }
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new LivefxError('store_unavailable', `cannot reach PostgreSQL at ${this.url} (LIVEFX_DATABASE_URL): ${reason(error)}`, { cause: error });
    }
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
        const done = new Set((await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((row) => row.id));
        const missing = migrations.filter((migration) => !done.has(migration.id));
        if (missing.length === 0) return;
        await client.query('BEGIN');
        try {
          for (const migration of missing) {
            try {
              await client.query(migration.postgres!);
            } catch (error) {
              throw new MigrationError(`migration "${migration.id}" failed on PostgreSQL: ${reason(error)}`);
            }
            await client.query('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [migration.id, new Date().toISOString()]);
          }
          await client.query('COMMIT');
          this.applied.push(...missing.map((migration) => migration.id));
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }
}

function reason(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reason(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message || String(code ?? 'unknown error');
}
