import { createHmac, timingSafeEqual } from 'node:crypto';
import { LivefxError } from '../errors.js';

/** What a media token allows: reading a node's job inputs, or writing a job's outputs to it. */
export type MediaTokenPurpose = 'media-read' | 'media-write';

export interface MediaTokenOptions {
  /** LIVEFX_INTERNAL_SECRET: the same on every node and worker. */
  secret: string;
  /** How long a token is valid (seconds); a worker signs a fresh one for every request. */
  ttlS?: number;
}

/** The request header a media token travels in (never `Authorization`: it is no API token). */
export const MEDIA_TOKEN_HEADER = 'x-livefx-media-token';

/**
 * Short-lived HMAC-signed tokens between nodes and workers: each names its purpose, the one path it
 * reaches (`recordings/<id>/<kind>`, `outputs/highlights/<job>` …) and its expiry, so a token seen in a
 * log opens nothing else and nothing for long. It is accepted only by the internal media routes.
 */
export class MediaToken {
  private readonly secret: string;
  private readonly ttlS: number;

  constructor(options: MediaTokenOptions) {
    this.secret = options.secret;
    this.ttlS = options.ttlS ?? 120;
  }

  sign(purpose: MediaTokenPurpose, scope: string, nowMs = Date.now()): string {
    const claims = Buffer.from(JSON.stringify({ p: purpose, s: scope, e: Math.floor(nowMs / 1000) + this.ttlS })).toString('base64url');
    return `${claims}.${this.mac(claims)}`;
  }

  /** Throws 401 `invalid_token` unless the token is ours, unexpired, for this purpose and this exact scope. */
  verify(token: string | string[] | undefined, purpose: MediaTokenPurpose, scope: string, nowMs = Date.now()): void {
    if (typeof token !== 'string' || token === '') throw new LivefxError('unauthorized', `this internal media route needs a signed media token in ${MEDIA_TOKEN_HEADER} (livefx workers send one)`);
    const [claims, mac] = token.split('.');
    const expected = claims ? Buffer.from(this.mac(claims)) : undefined;
    if (!claims || !mac || !expected || expected.length !== mac.length || !timingSafeEqual(expected, Buffer.from(mac))) throw new LivefxError('invalid_token', 'the media token is not signed with this cluster\'s LIVEFX_INTERNAL_SECRET');
    let parsed: { p?: unknown; s?: unknown; e?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as typeof parsed;
    } catch {
      throw new LivefxError('invalid_token', 'the media token cannot be read');
    }
    if (typeof parsed.e !== 'number' || parsed.e * 1000 < nowMs) throw new LivefxError('invalid_token', 'the media token has expired');
    if (parsed.p !== purpose || parsed.s !== scope) throw new LivefxError('invalid_token', `the media token is not for ${purpose} of ${scope}`);
  }

  private mac(claims: string): string {
    return createHmac('sha256', this.secret).update(claims).digest('base64url');
  }
}
