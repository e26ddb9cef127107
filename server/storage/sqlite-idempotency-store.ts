import type { Database, Statement } from 'better-sqlite3';
import { fromIdempotencyRow, type IdempotencyRecord, type IdempotencyRow, type IdempotencyStore } from './idempotency-store.js';

export interface SqliteIdempotencyStoreOptions {
  db: Database;
}

/** Idempotency-Keys in livefx.db (one node). */
export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly claimNow: (record: Omit<IdempotencyRecord, 'createdAt'>, notBefore: string) => IdempotencyRow;

  constructor(options: SqliteIdempotencyStoreOptions) {
    const { db } = options;
    const forget: Statement<[string]> = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
    const insert: Statement<[string, string, string, string, string]> = db.prepare('INSERT INTO idempotency_keys (scope, key, body_sha256, job_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING');
    const get: Statement<[string, string], IdempotencyRow> = db.prepare('SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?');
    // One transaction: another process on the same livefx.db sees the key held or free, never half.
    this.claimNow = db.transaction((record: Omit<IdempotencyRecord, 'createdAt'>, notBefore: string) => {
      forget.run(notBefore);
      insert.run(record.scope, record.key, record.bodySha256, record.jobId, new Date().toISOString());
      return get.get(record.scope, record.key)!;
    });
  }

  async claim(record: Omit<IdempotencyRecord, 'createdAt'>, notBefore: string): Promise<IdempotencyRecord> {
    return fromIdempotencyRow(this.claimNow(record, notBefore));
  }
}
