import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Migration } from '../../core/database.js';
import { LivefxError } from '../../core/errors.js';
import { TypedEmitter } from '../../core/typed-emitter.js';

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

interface TokenRow {
  id: string;
  role: TokenRole;
  stream_id: string | null;
  label: string;
  created_at: string;
  revoked_at: string | null;
}

const hashOf = (token: string): string => createHash('sha256').update(token).digest('hex');

const recordOf = (row: TokenRow): TokenRecord => ({
  id: row.id,
  role: row.role,
  ...(row.stream_id ? { streamId: row.stream_id } : {}),
  label: row.label,
  createdAt: row.created_at,
  ...(row.revoked_at ? { revokedAt: row.revoked_at } : {}),
});

/**
 * Opaque bearer tokens in livefx.db: random 32-byte secrets, stored as SHA-256 only, revocable.
 * A lookup is one indexed SELECT (no secret comparison in JavaScript, so no timing leak).
 */
export class TokenStore extends TypedEmitter<{ revoked: [record: TokenRecord] }> {
  constructor(private readonly db: Database) {
    super();
  }

  issue(role: TokenRole, options: { streamId?: string; label?: string } = {}): IssuedToken {
    const token = `lfx_${role === 'admin' ? 'adm' : 'op'}_${randomBytes(32).toString('base64url')}`;
    const record: TokenRecord = {
      id: randomUUID(),
      role,
      ...(options.streamId ? { streamId: options.streamId } : {}),
      label: options.label ?? (options.streamId ? `operator of ${options.streamId}` : role),
      createdAt: new Date().toISOString(),
    };
    this.db
      .prepare('INSERT INTO auth_tokens (id, hash, role, stream_id, label, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(record.id, hashOf(token), role, record.streamId ?? null, record.label, record.createdAt);
    return { ...record, token };
  }

  /** The live (not revoked) token with this secret. */
  verify(token: string): TokenRecord | undefined {
    const row = this.db.prepare('SELECT * FROM auth_tokens WHERE hash = ? AND revoked_at IS NULL').get(hashOf(token)) as TokenRow | undefined;
    return row ? recordOf(row) : undefined;
  }

  list(): TokenRecord[] {
    return (this.db.prepare('SELECT * FROM auth_tokens ORDER BY created_at, id').all() as TokenRow[]).map(recordOf);
  }

  get(id: string): TokenRecord | undefined {
    const row = this.db.prepare('SELECT * FROM auth_tokens WHERE id = ?').get(id) as TokenRow | undefined;
    return row ? recordOf(row) : undefined;
  }

  /** Revokes one token; whoever holds it is refused from now on and its sockets are disconnected. */
  revoke(id: string): TokenRecord {
    const record = this.get(id);
    if (!record) throw new TokenError('token_not_found', `no token with id "${id}"`);
    if (record.revokedAt) return record;
    const revokedAt = new Date().toISOString();
    this.db.prepare('UPDATE auth_tokens SET revoked_at = ? WHERE id = ?').run(revokedAt, id);
    const revoked = { ...record, revokedAt };
    this.safeEmit('revoked', revoked);
    return revoked;
  }

  /** Whether any live admin token is stored (a generated one: LIVEFX_ADMIN_TOKEN is never stored). */
  hasAdmin(): boolean {
    return this.db.prepare("SELECT 1 FROM auth_tokens WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1").get() !== undefined;
  }

  /** Revokes every stored admin token and issues a new one (the `livefx admin-token --rotate` path). */
  rotateAdmin(label = 'admin (generated)'): IssuedToken {
    const live = (this.db.prepare("SELECT * FROM auth_tokens WHERE role = 'admin' AND revoked_at IS NULL").all() as TokenRow[]).map(recordOf);
    for (const record of live) this.revoke(record.id);
    return this.issue('admin', { label });
  }
}
