import type { PostgresDatabase } from '../../core/postgres-database.js';
import { fromIdempotencyRow, type IdempotencyRecord, type IdempotencyRow, type IdempotencyStore } from './idempotency-store.js';

export interface PostgresIdempotencyStoreOptions {
  database: PostgresDatabase;
}

/** Idempotency-Keys in the shared PostgreSQL database: a key used through one node holds on every node. */
export class PostgresIdempotencyStore implements IdempotencyStore {
  private readonly database: PostgresDatabase;

  constructor(options: PostgresIdempotencyStoreOptions) {
    this.database = options.database;
  }

  async claim(record: Omit<IdempotencyRecord, 'createdAt'>, notBefore: string): Promise<IdempotencyRecord> {
    await this.database.query('DELETE FROM idempotency_keys WHERE created_at < $1', [notBefore]);
    // Two nodes claiming at once: the primary key lets one insert win; both then read the winner's row.
    await this.database.query('INSERT INTO idempotency_keys (scope, key, body_sha256, job_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING', [
      record.scope,
      record.key,
      record.bodySha256,
      record.jobId,
      new Date().toISOString(),
    ]);
    const row = await this.database.queryOne<IdempotencyRow, IdempotencyRecord>('SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2', [record.scope, record.key], fromIdempotencyRow);
    // Forgotten between the insert and the read (a clock far ahead on another node): this claim stands.
    return row ?? { ...record, createdAt: new Date().toISOString() };
  }
}
