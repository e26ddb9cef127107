import type { Migration } from '../../core/database.js';

/** One Idempotency-Key as first used: the body it came with (SHA-256) and the job it made. */
export interface IdempotencyRecord {
  /** What the key belongs to (`highlights`, `renders`): the same key on two routes is two keys. */
  scope: string;
  key: string;
  bodySha256: string;
  jobId: string;
  createdAt: string;
}

/**
 * Idempotency-Keys of job POSTs, in the shared store (livefx.db, or PostgreSQL for every node), so a
 * client retrying through another node gets the first answer and a key reused for another body is caught.
 */
export interface IdempotencyStore {
  /**
   * Records `record` unless the key is already held since `notBefore` (ISO time; older records are
   * forgotten first); resolves to the record that holds the key: this one, or the earlier one.
   */
  claim(record: Omit<IdempotencyRecord, 'createdAt'>, notBefore: string): Promise<IdempotencyRecord>;
}

export interface IdempotencyRow {
  scope: string;
  key: string;
  body_sha256: string;
  job_id: string;
  created_at: string;
}

export const fromIdempotencyRow = (row: IdempotencyRow): IdempotencyRecord => ({ scope: row.scope, key: row.key, bodySha256: row.body_sha256, jobId: row.job_id, createdAt: row.created_at });

const CREATE_IDEMPOTENCY = `CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  job_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);`;

export const idempotencyMigrations: readonly Migration[] = [{ id: 'idempotency/1-create', up: (db) => db.exec(CREATE_IDEMPOTENCY), postgres: CREATE_IDEMPOTENCY }];
