import { authFetch } from './page-token.js';

/** What GET /v1/luts and GET /v1/images list; `error` is set for a file in the folder that cannot be used. */
export interface AssetEntry {
  name: string;
  bytes: number;
  error?: string;
  [detail: string]: unknown;
}

export type AssetFolder = 'luts' | 'images';

/** The server's LUT and image folders, as the console's pickers see them; one list request per folder until it changes. */
export class AssetLibrary {
  private readonly lists = new Map<AssetFolder, Promise<AssetEntry[]>>();
  private readonly listeners = new Set<(folder: AssetFolder) => void>();

  list(folder: AssetFolder): Promise<AssetEntry[]> {
    let list = this.lists.get(folder);
    if (!list) {
      list = authFetch(`/v1/${folder}`)
        .then(async (response) => {
          if (!response.ok) throw new Error(`could not list ${folder} (${response.status})`);
          return ((await response.json()) as Record<AssetFolder, AssetEntry[]>)[folder];
        })
        .catch((error: unknown) => {
          this.lists.delete(folder);
          throw error;
        });
      this.lists.set(folder, list);
    }
    return list;
  }

  /** Called whenever a folder's list changed (an upload from this page). */
  onChange(listener: (folder: AssetFolder) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Uploads a file under its own name; a refusal throws an Error carrying the server's message. */
  async upload(folder: AssetFolder, file: File): Promise<AssetEntry> {
    const form = new FormData();
    form.append('file', file, file.name);
    const response = await authFetch(`/v1/${folder}`, { method: 'POST', body: form });
    const body = (await response.json().catch(() => ({}))) as unknown;
    if (!response.ok) {
      const message = (body as { error?: { message?: unknown } }).error?.message;
      throw new Error(typeof message === 'string' ? message : `upload refused (${response.status})`);
    }
    this.lists.delete(folder);
    for (const listener of this.listeners) listener(folder);
    return body as AssetEntry;
  }
}
