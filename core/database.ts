import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';

/**
 * One schema change, for SQLite and (when the feature's store is shared) PostgreSQL. Ids are never
 * renamed or reused: they are what `schema_migrations` remembers, on either backend.
 */
export interface Migration {
  /** Unique and stable, prefixed by the feature that owns it, e.g. `presets/1-create`. */
  id: string;
  up(db: Database): void;
  /** The same step in PostgreSQL's dialect; absent for what stays in livefx.db on every node (the embedded job queue). */
  postgres?: string;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/**
 * The server's one SQLite database (`$LIVEFX_DATA_DIR/livefx.db`): WAL, foreign keys on, a busy
 * timeout, and the migrations it is opened with applied in order, all in one transaction, each
 * recorded in `schema_migrations`. Features add their own migrations to the list in migrations.ts.
 */
export class LivefxDatabase {
  static readonly FILE_NAME = 'livefx.db';
  readonly db: Database;
  /** The ids this opening applied (empty when the schema was already current). */
  readonly applied: string[] = [];
  private isClosed = false;

  constructor(
    readonly file: string,
    migrations: readonly Migration[],
  ) {
    const ids = new Set<string>();
    for (const migration of migrations) {
      if (ids.has(migration.id)) throw new MigrationError(`migration "${migration.id}" appears twice in the list`);
      ids.add(migration.id);
    }
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new BetterSqlite3(file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      // Another process (the CLI) may hold the write lock briefly: wait rather than fail.
      this.db.pragma('busy_timeout = 5000');
      this.migrate(migrations);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /** Opens `livefx.db` in the data directory. */
  static open(dataDir: string, migrations: readonly Migration[]): LivefxDatabase {
    return new LivefxDatabase(path.join(dataDir, LivefxDatabase.FILE_NAME), migrations);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  private migrate(migrations: readonly Migration[]): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
    const done = new Set((this.db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((row) => row.id));
    const record = this.db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
    // All or nothing: a failing migration leaves the database as it was before start-up.
    this.db.transaction(() => {
      for (const migration of migrations) {
        if (done.has(migration.id)) continue;
        try {
          migration.up(this.db);
        } catch (error) {
          throw new MigrationError(`migration "${migration.id}" failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        record.run(migration.id, new Date().toISOString());
        this.applied.push(migration.id);
      }
    }).immediate();
  }

  /** Closes the database (checkpointing the WAL). Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.db.close();
  }
}
