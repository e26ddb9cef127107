import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';

export interface ShotCacheOptions {
  /** `$LIVEFX_DATA_DIR/studio/cache` */
  dir: string;
  /** Evicts least recently used entries above this size. */
  maxBytes: number;
}

/** Bumped whenever the compositor renders the same inputs differently: old entries then miss. */
export const ENGINE_VERSION = 'studio-compositor/2';

/** The cache key of anything rendered: a sha256 over its inputs as canonical JSON. */
export function contentKey(inputs: unknown): string {
  return createHash('sha256').update(canonicalJson({ engine: ENGINE_VERSION, inputs })).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Rendered shots (and transitions) stored under the content hash of their inputs, one folder per
 * entry. An entry is made in a temporary folder and renamed into place whole, so a reader never sees
 * half of one; a hit touches its folder so eviction removes the least recently used first.
 */
export class ShotCache {
  private evicting: Promise<void> = Promise.resolve();

  constructor(private readonly options: ShotCacheOptions) {}

  entryDir(key: string): string {
    return path.join(this.options.dir, key);
  }

  /** The entry's folder when it is complete (and marks it used), else undefined. */
  async lookup(key: string): Promise<string | undefined> {
    const dir = this.entryDir(key);
    const info = await stat(path.join(dir, 'complete')).catch(() => undefined);
    if (!info) return undefined;
    const now = new Date();
    await utimes(dir, now, now).catch(() => undefined);
    return dir;
  }

  /** Builds an entry with `make(folder)` in a temporary folder, then publishes it. Returns its folder. */
  async store(key: string, make: (dir: string) => Promise<void>): Promise<string> {
    const final = this.entryDir(key);
    const temp = `${final}.partial-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    await mkdir(temp, { recursive: true });
    try {
      await make(temp);
      await mkdir(path.join(temp, 'complete'));
      await rm(final, { recursive: true, force: true });
      await rename(temp, final);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
    await this.evict([final]);
    return final;
  }

  /** Removes least recently used entries until the cache fits; `keep` (in use now) stays. */
  evict(keep: readonly string[] = []): Promise<void> {
    this.evicting = this.evicting.then(() => this.evictNow(new Set(keep)), () => this.evictNow(new Set(keep)));
    return this.evicting;
  }

  /** Total bytes of complete entries. */
  async sizeBytes(): Promise<number> {
    return (await this.entries()).reduce((sum, entry) => sum + entry.bytes, 0);
  }

  private async evictNow(keep: Set<string>): Promise<void> {
    const entries = (await this.entries()).sort((a, b) => a.usedMs - b.usedMs);
    let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    for (const entry of entries) {
      if (total <= this.options.maxBytes) break;
      if (keep.has(entry.dir)) continue;
      await rm(entry.dir, { recursive: true, force: true });
      total -= entry.bytes;
    }
  }

  private async entries(): Promise<{ dir: string; bytes: number; usedMs: number }[]> {
    const names = await readdir(this.options.dir).catch(() => [] as string[]);
    const found: { dir: string; bytes: number; usedMs: number }[] = [];
    for (const name of names) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const dir = path.join(this.options.dir, name);
      const info = await stat(dir).catch(() => undefined);
      if (!info?.isDirectory()) continue;
      let bytes = 0;
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        const fileInfo = await stat(path.join(dir, file)).catch(() => undefined);
        if (fileInfo?.isFile()) bytes += fileInfo.size;
      }
      found.push({ dir, bytes, usedMs: info.mtimeMs });
    }
    return found;
  }
}
