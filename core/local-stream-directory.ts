import type { StreamClaim, StreamDirectory, StreamLocation } from './stream-directory.js';

export interface LocalStreamDirectoryOptions {
  /** Defaults to `local`. */
  nodeId?: string;
}

/** The in-process stream directory of a single server: the registry claims each stream it creates and releases it when it ends. */
export class LocalStreamDirectory implements StreamDirectory {
  readonly nodeId: string;
  private readonly claims = new Map<string, StreamLocation>();

  constructor(options: LocalStreamDirectoryOptions = {}) {
    this.nodeId = options.nodeId ?? 'local';
  }

  async lookup(streamId: string): Promise<StreamLocation | undefined> {
    const location = this.claims.get(streamId);
    return location ? { ...location } : undefined;
  }

  async claim(streamId: string): Promise<StreamClaim> {
    const held = this.claims.get(streamId);
    if (held && held.nodeId !== this.nodeId) return { claimed: false, owner: { ...held } };
    const location = held ?? { streamId, nodeId: this.nodeId, claimedAt: new Date().toISOString() };
    this.claims.set(streamId, location);
    return { claimed: true, location: { ...location } };
  }

  async release(streamId: string): Promise<void> {
    if (this.claims.get(streamId)?.nodeId === this.nodeId) this.claims.delete(streamId);
  }

  async list(): Promise<StreamLocation[]> {
    return [...this.claims.values()].map((location) => ({ ...location }));
  }

  async close(): Promise<void> {}
}
