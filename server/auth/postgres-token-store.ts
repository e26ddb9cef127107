import type { PostgresDatabase, PostgresQueryable } from '../../core/postgres-database.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { newTokenRecord, newTokenSecret, TokenError, tokenHash, tokenRecordOf, type IssuedToken, type TokenRecord, type TokenRole, type TokenRow, type TokenStore, type TokenStoreEvents } from './token-store.js';

const REVOKED_CHANNEL = 'livefx_token_revoked';

export interface PostgresTokenStoreOptions {
  database: PostgresDatabase;
}

/**
 * Tokens in the shared PostgreSQL database (LIVEFX_DATABASE_URL), so a token issued through any node
 * works on all of them. Nothing is cached: every check is one indexed SELECT, so a revocation holds on
 * every node at its next request (open sockets: at the next revocation sweep).
 */
export class PostgresTokenStore extends TypedEmitter<TokenStoreEvents> implements TokenStore {
  private readonly database: PostgresDatabase;

  constructor(options: PostgresTokenStoreOptions) {
    super();
    this.database = options.database;
    // Another node revoked a token: its sockets here are disconnected at once (the sweep is the fallback).
    this.database.listen(REVOKED_CHANNEL, (payload) => {
      const record = payload as TokenRecord | undefined;
      if (typeof record?.id === 'string' && typeof record.revokedAt === 'string') this.safeEmit('revoked', record);
    });
  }

  async issue(role: TokenRole, options: { streamId?: string; label?: string } = {}): Promise<IssuedToken> {
    return this.insert(this.database, role, options);
  }

  async verify(token: string): Promise<TokenRecord | undefined> {
    return this.database.queryOne('SELECT * FROM auth_tokens WHERE hash = $1 AND revoked_at IS NULL', [tokenHash(token)], tokenRecordOf);
  }

  async list(): Promise<TokenRecord[]> {
    return (await this.database.query<TokenRow>('SELECT * FROM auth_tokens ORDER BY created_at COLLATE "C", id COLLATE "C"')).rows.map(tokenRecordOf);
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    return this.database.queryOne('SELECT * FROM auth_tokens WHERE id = $1', [id], tokenRecordOf);
  }

  /** Revokes one token; two nodes revoking at once both answer with the one revocation that happened. */
  async revoke(id: string): Promise<TokenRecord> {
    const { rows } = await this.database.query<TokenRow>('UPDATE auth_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING *', [new Date().toISOString(), id]);
    if (rows[0]) {
      const revoked = tokenRecordOf(rows[0]);
      await this.announce([revoked]);
      return revoked;
    }
    const record = await this.get(id);
    if (!record) throw new TokenError('token_not_found', `no token with id "${id}"`);
    return record;
  }

  async hasAdmin(): Promise<boolean> {
    return (await this.database.query("SELECT 1 FROM auth_tokens WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1")).rows.length > 0;
  }

  /** Revokes every stored admin token and issues a new one, in one transaction. */
  async rotateAdmin(label = 'admin (generated)'): Promise<IssuedToken> {
    const { revoked, issued } = await this.database.transaction(async (client) => {
      const { rows } = await client.query<TokenRow>("UPDATE auth_tokens SET revoked_at = $1 WHERE role = 'admin' AND revoked_at IS NULL RETURNING *", [new Date().toISOString()]);
      return { revoked: rows.map(tokenRecordOf), issued: await this.insert(client, 'admin', { label }) };
    });
    await this.announce(revoked);
    return issued;
  }

  /** Here and on every other node; a lost notification is made up for by each node's socket sweep. */
  private async announce(revoked: readonly TokenRecord[]): Promise<void> {
    for (const record of revoked) {
      this.safeEmit('revoked', record);
      await this.database.notify(REVOKED_CHANNEL, record).catch(() => undefined);
    }
  }

  private async insert(on: PostgresQueryable, role: TokenRole, options: { streamId?: string; label?: string }): Promise<IssuedToken> {
    const token = newTokenSecret(role);
    const record = newTokenRecord(role, options);
    await on.query('INSERT INTO auth_tokens (id, hash, role, stream_id, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [record.id, tokenHash(token), role, record.streamId ?? null, record.label, record.createdAt]);
    return { ...record, token };
  }
}
