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

export const authMigrations: readonly Migration[] = [
  {
    id: 'auth/1-tokens',
    up: (db) =>
      db.exec(`CREATE TABLE auth_tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
        stream_id TEXT,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      )`),
  },
];

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
