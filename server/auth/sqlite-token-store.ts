import type { Database } from 'better-sqlite3';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { newTokenRecord, newTokenSecret, TokenError, tokenHash, tokenRecordOf, type IssuedToken, type TokenRecord, type TokenRole, type TokenRow, type TokenStore, type TokenStoreEvents } from './token-store.js';

export interface SqliteTokenStoreOptions {
  db: Database;
}

/**
 * Opaque bearer tokens in livefx.db: random 32-byte secrets, stored as SHA-256 only, revocable.
 * A lookup is one indexed SELECT (no secret comparison in JavaScript, so no timing leak).
 */
export class SqliteTokenStore extends TypedEmitter<TokenStoreEvents> implements TokenStore {
  private readonly db: Database;

  constructor(options: SqliteTokenStoreOptions) {
    super();
    this.db = options.db;
  }

  async issue(role: TokenRole, options: { streamId?: string; label?: string } = {}): Promise<IssuedToken> {
    const token = newTokenSecret(role);
    const record = newTokenRecord(role, options);
    this.db
      .prepare('INSERT INTO auth_tokens (id, hash, role, stream_id, label, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(record.id, tokenHash(token), role, record.streamId ?? null, record.label, record.createdAt);
    return { ...record, token };
  }

  /** The live (not revoked) token with this secret. */
  async verify(token: string): Promise<TokenRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM auth_tokens WHERE hash = ? AND revoked_at IS NULL').get(tokenHash(token)) as TokenRow | undefined;
    return row ? tokenRecordOf(row) : undefined;
  }

  async list(): Promise<TokenRecord[]> {
    return (this.db.prepare('SELECT * FROM auth_tokens ORDER BY created_at, id').all() as TokenRow[]).map(tokenRecordOf);
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    return this.record(id);
  }

  private record(id: string): TokenRecord | undefined {
    const row = this.db.prepare('SELECT * FROM auth_tokens WHERE id = ?').get(id) as TokenRow | undefined;
    return row ? tokenRecordOf(row) : undefined;
  }

  /** Revokes one token; whoever holds it is refused from now on and its sockets are disconnected. */
  async revoke(id: string): Promise<TokenRecord> {
    const record = this.record(id);
    if (!record) throw new TokenError('token_not_found', `no token with id "${id}"`);
    if (record.revokedAt) return record;
    const revokedAt = new Date().toISOString();
    this.db.prepare('UPDATE auth_tokens SET revoked_at = ? WHERE id = ?').run(revokedAt, id);
    const revoked = { ...record, revokedAt };
    this.safeEmit('revoked', revoked);
    return revoked;
  }

  /** Whether any live admin token is stored (a generated one: LIVEFX_ADMIN_TOKEN is never stored). */
  async hasAdmin(): Promise<boolean> {
    return this.db.prepare("SELECT 1 FROM auth_tokens WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1").get() !== undefined;
  }

  /** Revokes every stored admin token and issues a new one (the `livefx admin-token --rotate` path). */
  async rotateAdmin(label = 'admin (generated)'): Promise<IssuedToken> {
    const live = (this.db.prepare("SELECT * FROM auth_tokens WHERE role = 'admin' AND revoked_at IS NULL").all() as TokenRow[]).map(tokenRecordOf);
    for (const record of live) await this.revoke(record.id);
    return this.issue('admin', { label });
  }
}
