import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A checked viewer link: which stream it opens and until when (epoch seconds). */
export interface ViewerGrant {
  streamId: string;
  expiresAt: number;
}

const PREFIX = 'lfx_v1';

/**
 * Signed, expiring viewer links for private streams: `lfx_v1.<streamId>.<exp>.<HMAC-SHA256>`, the
 * key a 32-byte secret in `$LIVEFX_DATA_DIR/secrets/viewer-link.key` (created on first start,
 * mode 0600). Nothing is stored per link, so a link also works for every HLS segment fetch;
 * rotating the key invalidates every link ever handed out.
 */
export class ViewerLinks {
  private key: Buffer;

  constructor(private readonly keyFile: string) {
    this.key = ViewerLinks.readOrCreate(keyFile);
  }

  static fileIn(dataDir: string): string {
    return path.join(dataDir, 'secrets', 'viewer-link.key');
  }

  sign(streamId: string, ttlSeconds: number, nowMs = Date.now()): { token: string; expiresAt: number } {
    const expiresAt = Math.floor(nowMs / 1000) + Math.max(1, Math.round(ttlSeconds));
    return { token: `${PREFIX}.${streamId}.${expiresAt}.${this.mac(streamId, expiresAt)}`, expiresAt };
  }

  /** The grant, or why not (`invalid` for anything malformed or forged, `expired` for a genuine old link). */
  verify(token: string, nowMs = Date.now()): ViewerGrant | 'invalid' | 'expired' {
    const parts = token.split('.');
    if (parts.length !== 4 || parts[0] !== PREFIX) return 'invalid';
    const [, streamId = '', exp = '', mac = ''] = parts;
    if (!/^\d{1,12}$/.test(exp) || streamId.length === 0 || streamId.length > 64) return 'invalid';
    const expiresAt = Number(exp);
    const expected = Buffer.from(this.mac(streamId, expiresAt));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
    return expiresAt * 1000 <= nowMs ? 'expired' : { streamId, expiresAt };
  }

  /** A new key: every link signed before is refused from now on. */
  rotate(): void {
    this.key = ViewerLinks.write(this.keyFile);
  }

  private mac(streamId: string, expiresAt: number): string {
    return createHmac('sha256', this.key).update(`viewer:${streamId}:${expiresAt}`).digest('base64url');
  }

  private static readOrCreate(file: string): Buffer {
    try {
      const key = readFileSync(file);
      if (key.length >= 32) return key;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return ViewerLinks.write(file);
  }

  private static write(file: string): Buffer {
    const key = randomBytes(32);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, key, { mode: 0o600 });
    renameSync(temp, file);
    return key;
  }
}
