import { randomUUID } from 'node:crypto';
import type { PostgresDatabase } from '../core/postgres-database.js';
import type { StoryboardStore } from './ports.js';
import { toStoryboard, type StoryboardRecord } from './sqlite-storyboard-store.js';
import type { Storyboard, StoryboardBody, StoryboardProvenance } from './storyboard.js';

export interface PostgresStoryboardStoreOptions {
  database: PostgresDatabase;
}

/** Storyboards in the shared PostgreSQL database (same table and JSON columns as livefx.db), so every node lists and edits the same ones. */
export class PostgresStoryboardStore implements StoryboardStore {
  private readonly database: PostgresDatabase;

  constructor(options: PostgresStoryboardStoreOptions) {
    this.database = options.database;
  }

  async create(body: StoryboardBody, provenance: StoryboardProvenance): Promise<Storyboard> {
    const id = `sb_${randomUUID()}`;
    const now = new Date().toISOString();
    await this.database.query('INSERT INTO storyboards (id, body, provenance, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)', [id, JSON.stringify(body), JSON.stringify(provenance), now]);
    return { id, ...body, provenance, created_at: now, updated_at: now };
  }

  async get(id: string): Promise<Storyboard | undefined> {
    return this.database.queryOne('SELECT * FROM storyboards WHERE id = $1', [id], toStoryboard);
  }

  async list(): Promise<Storyboard[]> {
    return (await this.database.query<StoryboardRecord>('SELECT * FROM storyboards ORDER BY created_at COLLATE "C" DESC, id COLLATE "C" DESC')).rows.map(toStoryboard);
  }

  async replace(id: string, body: StoryboardBody): Promise<Storyboard | undefined> {
    return this.database.queryOne('UPDATE storyboards SET body = $1, updated_at = $2 WHERE id = $3 RETURNING *', [JSON.stringify(body), new Date().toISOString(), id], toStoryboard);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.database.query('DELETE FROM storyboards WHERE id = $1', [id])).rowCount > 0;
  }
}
