export interface MemoCacheOptions {
  /** Entries kept; the least recently used one goes when a new one would pass this. */
  maxEntries: number;
}

/**
 * Remembers the results of an async computation by key, at most `maxEntries` of them (least recently
 * used evicted first), so a long-running server's memo stays a fixed size. Only results are kept: a
 * failed (or cancelled) computation leaves nothing, and never fails another caller's ask.
 */
export class MemoCache<Value> {
  private readonly entries = new Map<string, Value>();

  constructor(private readonly options: MemoCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer (got ${options.maxEntries})`);
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The remembered value of `key`, or `compute()`'s, then remembered. */
  async get(key: string, compute: () => Promise<Value>): Promise<Value> {
    if (this.entries.has(key)) {
      const known = this.entries.get(key)!;
      // A Map keeps insertion order: re-inserting makes this key the most recently used.
      this.entries.delete(key);
      this.entries.set(key, known);
      return known;
    }
    const value = await compute();
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}
