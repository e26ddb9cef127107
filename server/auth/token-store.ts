import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Migration } from '../../core/database.js';
import { LivefxError } from '../../core/errors.js';

/** Who may do what. `admin` ⊇ global `operator` ⊇ stream `operator` (its stream only). */
export type TokenRole = 'admin' | 'operator';

export interface TokenRecord {
  id: string;
  role: TokenRole;
  /** The one stream an operator token covers; absent: every stream. */
  streamId?: string;
  label: string;
  createdAt: string;
  revokedAt?: string;
}

export interface IssuedToken extends TokenRecord {
  /** The secret itself: shown once, only its SHA-256 is stored. */
  token: string;
}

export class TokenError extends LivefxError {
  override name = 'TokenError';
  declare readonly code: 'token_not_found';
  constructor(code: TokenError['code'], message: string) {
    super(code, message);
  }
}

/** Both backends read this DDL the same way. */
const CREATE_TOKENS = `CREATE TABLE auth_tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
  stream_id TEXT,
  label TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
)`;

export const authMigrations: readonly Migration[] = [{ id: 'auth/1-tokens', up: (db) => db.exec(CREATE_TOKENS), postgres: CREATE_TOKENS }];

/** A row of auth_tokens, as both stores read it. */
export interface TokenRow {
  id: string;
  role: TokenRole;
  stream_id: string | null;
  label: string;
  created_at: string;
  revoked_at: string | null;
}

/** What is stored of a secret: its SHA-256 (hex). */
export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new secret for a role: `lfx_adm_…` / `lfx_op_…` and 32 random bytes. */
export const newTokenSecret = (role: TokenRole): string => `lfx_${role === 'admin' ? 'adm' : 'op'}_${randomBytes(32).toString('base64url')}`;

/** A new token's record (not yet stored): a random id, its label defaulting to the role or the stream it covers. */
export function newTokenRecord(role: TokenRole, options: { streamId?: string; label?: string }): TokenRecord {
  return {
    id: randomUUID(),
    role,
    ...(options.streamId ? { streamId: options.streamId } : {}),
    label: options.label ?? (options.streamId ? `operator of ${options.streamId}` : role),
    createdAt: new Date().toISOString(),
  };
}

export const tokenRecordOf = (row: TokenRow): TokenRecord => ({
  id: row.id,
  role: row.role,
  ...(row.stream_id ? { streamId: row.stream_id } : {}),
  label: row.label,
  createdAt: row.created_at,
  ...(row.revoked_at ? { revokedAt: row.revoked_at } : {}),
});

export type TokenStoreEvents = {
  /** A token was revoked (here, or by another process that told this one). */
  revoked: [record: TokenRecord];
};

/**
 * Opaque bearer tokens, stored hashed and revocable: the seam a networked store (PostgreSQL) implements.
 * Every call is asynchronous; `SqliteTokenStore` (livefx.db) is the default.
 */
export interface TokenStore {
  issue(role: TokenRole, options?: { streamId?: string; label?: string }): Promise<IssuedToken>;
  /** The live (not revoked) token with this secret. */
  verify(token: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  get(id: string): Promise<TokenRecord | undefined>;
  /** Revokes one token (token_not_found for an unknown id); revoking twice returns the first revocation. */
  revoke(id: string): Promise<TokenRecord>;
  /** Whether any live admin token is stored (a generated one: LIVEFX_ADMIN_TOKEN is never stored). */
  hasAdmin(): Promise<boolean>;
  /** Revokes every stored admin token and issues a new one (the `livefx admin-token --rotate` path). */
  rotateAdmin(label?: string): Promise<IssuedToken>;
  on<E extends keyof TokenStoreEvents>(event: E, listener: (...args: TokenStoreEvents[E]) => void): this;
  off<E extends keyof TokenStoreEvents>(event: E, listener: (...args: TokenStoreEvents[E]) => void): this;
}
