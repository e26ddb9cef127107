import { timingSafeEqual, createHash } from 'node:crypto';
import { LivefxError } from '../../core/errors.js';
import type { TokenStore } from './token-store.js';
import type { ViewerLinks } from './viewer-links.js';

/** Whoever presented a token (or nothing). Streamers are not principals: WHIP checks the stream key itself. */
export type Principal =
  | { role: 'admin'; tokenId?: string; label: string }
  | { role: 'operator'; tokenId: string; streamId?: string; label: string }
  | { role: 'streamer'; streamId: string }
  | { role: 'viewer'; streamId: string; expiresAt: number }
  | { role: 'anonymous' };

export const ANONYMOUS: Principal = { role: 'anonymous' };

/** A refusal by access control (also sent as socket.io connect and ack errors); counted apart in the metrics. */
export class AccessError extends LivefxError {
  override name = 'AccessError';
  declare readonly code: 'unauthorized' | 'invalid_token' | 'link_expired' | 'forbidden';
  constructor(statusCode: 401 | 403, code: AccessError['code'], message: string) {
    super(code, message, { httpStatus: statusCode });
  }
}

/** What access checks need to know of a stream. */
export interface GuardedStream {
  id: string;
  visibility: 'public' | 'private';
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Turns a presented token into a Principal: the configured admin token (LIVEFX_ADMIN_TOKEN), a
 * stored token (admin or operator, see TokenStore) or a signed viewer link (ViewerLinks).
 * Presenting a token that is none of these is an error, never a silent fall-back to anonymous.
 */
export interface AuthenticatorOptions {
  tokens: TokenStore;
  viewerLinks: ViewerLinks;
  /** LIVEFX_ADMIN_TOKEN (never stored). */
  adminToken?: string | undefined;
  /** The stream whose key this is (the publish page's sockets present the stream key). */
  streamOfKey?: (token: string) => string | undefined;
}

export class Authenticator {
  readonly tokens: TokenStore;
  readonly viewerLinks: ViewerLinks;
  private readonly adminDigest: Buffer | undefined;
  private readonly streamOfKey: (token: string) => string | undefined;

  constructor(options: AuthenticatorOptions) {
    ({ tokens: this.tokens, viewerLinks: this.viewerLinks } = options);
    this.streamOfKey = options.streamOfKey ?? (() => undefined);
    this.adminDigest = options.adminToken ? digest(options.adminToken) : undefined;
  }

  /** Asks the token store only for what looks like a stored token (the admin token and viewer links are checked here). */
  async identify(token: string | undefined): Promise<Principal> {
    if (token === undefined || token === '') return ANONYMOUS;
    if (token.length > 512) throw new AccessError(401, 'invalid_token', 'the token is not valid');
    if (this.adminDigest && timingSafeEqual(digest(token), this.adminDigest)) return { role: 'admin', label: 'LIVEFX_ADMIN_TOKEN' };
    if (token.startsWith('lfx_v1.')) {
      const grant = this.viewerLinks.verify(token);
      if (grant === 'expired') throw new AccessError(401, 'link_expired', 'this viewer link has expired: ask the streamer for a new one');
      if (grant === 'invalid') throw new AccessError(401, 'invalid_token', 'this viewer link is not valid (or its key was rotated)');
      return { role: 'viewer', streamId: grant.streamId, expiresAt: grant.expiresAt };
    }
    // Stream keys live in memory: a streamer's page never waits on (or fails with) a shared store.
    const streamId = this.streamOfKey(token);
    if (streamId) return { role: 'streamer', streamId };
    const record = await this.tokens.verify(token);
    if (!record) throw new AccessError(401, 'invalid_token', 'the token is not valid or was revoked');
    if (record.role === 'admin') return { role: 'admin', tokenId: record.id, label: record.label };
    return { role: 'operator', tokenId: record.id, label: record.label, ...(record.streamId ? { streamId: record.streamId } : {}) };
  }
}

const needToken = (what: string): AccessError => new AccessError(401, 'unauthorized', `${what} needs a token: "Authorization: Bearer <token>" (or ?token=)`);
const notAllowed = (principal: Principal, what: string): AccessError =>
  new AccessError(403, 'forbidden', `${principal.role === 'viewer' ? 'a viewer link' : principal.role === 'streamer' ? 'a stream key' : `the ${principal.role} token`} does not allow ${what}`);

export function requireAdmin(principal: Principal, what: string): void {
  if (principal.role === 'admin') return;
  throw principal.role === 'anonymous' ? needToken(what) : notAllowed(principal, what);
}

/** Any operator (of one stream or all) or admin: presets and assets are shared by all streams. */
export function requireAnyOperator(principal: Principal, what: string): void {
  if (principal.role === 'admin' || principal.role === 'operator') return;
  throw principal.role === 'anonymous' ? needToken(what) : notAllowed(principal, what);
}

/** Admin or an operator of every stream: lists across streams, recordings, highlights. */
export function requireGlobalOperator(principal: Principal, what: string): void {
  if (principal.role === 'admin' || (principal.role === 'operator' && principal.streamId === undefined)) return;
  throw principal.role === 'anonymous' ? needToken(what) : notAllowed(principal, what);
}

export function canOperate(principal: Principal, streamId: string): boolean {
  return principal.role === 'admin' || (principal.role === 'operator' && (principal.streamId === undefined || principal.streamId === streamId));
}

export function requireOperatorOf(principal: Principal, streamId: string, what: string): void {
  if (canOperate(principal, streamId)) return;
  throw principal.role === 'anonymous' ? needToken(what) : notAllowed(principal, `${what} of stream "${streamId}"`);
}

export function canView(principal: Principal, stream: GuardedStream): boolean {
  if (stream.visibility === 'public' || canOperate(principal, stream.id)) return true;
  return (principal.role === 'viewer' || principal.role === 'streamer') && principal.streamId === stream.id;
}

export function requireViewerOf(principal: Principal, stream: GuardedStream, what: string): void {
  if (canView(principal, stream)) return;
  if (principal.role === 'anonymous') throw new AccessError(401, 'unauthorized', `stream "${stream.id}" is private: ${what} needs its viewer link (?token=)`);
  throw notAllowed(principal, `${what} of private stream "${stream.id}"`);
}

/** `Authorization: Bearer <token>`, else `?token=` (media URLs and pages cannot set headers). */
export function presentedToken(authorization: string | undefined, query: unknown): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (bearer) return bearer;
  const fromQuery = (query as { token?: unknown } | undefined)?.token;
  return typeof fromQuery === 'string' ? fromQuery : undefined;
}
