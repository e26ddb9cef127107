import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What a token lets its bearer do: publish to or watch one stream on its owner, create a stream on the
 * chosen node, operate a stream on its owner (another node passing an operator's request on), be served
 * one stream by a relay node (the owner is full), or subscribe a relay node to the owner.
 */
export type ClusterGrant = 'whip' | 'whep' | 'place' | 'operate' | 'relay' | 'upstream';

export interface ClusterTokensOptions {
  /** The secret every node shares (kept in Redis, see NodeCluster). */
  secret: Buffer;
  /** How long a token is accepted after it is made. */
  ttlMs: number;
}

/**
 * Short-lived HMAC-signed tokens one node hands a client (in a redirect URL) or another node (a placed
 * stream's creation): cross-origin redirects drop `Authorization`, so the grant travels in the URL.
 */
export class ClusterTokens {
  private readonly secret: Buffer;
  private readonly ttlMs: number;

  constructor(options: ClusterTokensOptions) {
    this.secret = options.secret;
    this.ttlMs = options.ttlMs;
  }

  /** A new random secret for a cluster that has none yet. */
  static newSecret(): string {
    return randomBytes(32).toString('base64url');
  }

  /** `<grant>.<subject>.<expiry ms>.<nonce>.<signature>`: the subject is a stream id (`-` for a placement). */
  sign(grant: ClusterGrant, subject: string): string {
    const body = `${grant}.${subject}.${Date.now() + this.ttlMs}.${randomBytes(6).toString('base64url')}`;
    return `${body}.${this.mac(body)}`;
  }

  /** Whether `token` grants `grant` on `subject` and has not expired. */
  verify(token: unknown, grant: ClusterGrant, subject: string): boolean {
    if (typeof token !== 'string') return false;
    const parts = token.split('.');
    if (parts.length !== 5 || parts[0] !== grant || parts[1] !== subject || !(Number(parts[2]) > Date.now())) return false;
    const expected = Buffer.from(this.mac(parts.slice(0, 4).join('.')));
    const given = Buffer.from(parts[4]!);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}
