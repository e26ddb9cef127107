import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { Migration } from '../core/database.js';
import type { StoryboardStore } from './ports.js';
import type { Storyboard, StoryboardBody, StoryboardProvenance } from './storyboard.js';

/** The storyboards table: the body and its provenance as JSON (the schema lives in storyboard.ts, validated before storing). */
const CREATE_STORYBOARDS = `
  CREATE TABLE storyboards (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    provenance TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX storyboards_by_creation ON storyboards (created_at);
`;

/** Both backends read this DDL the same way. */
export const storyboardMigrations: readonly Migration[] = [{ id: 'studio/1-storyboards', up: (db) => db.exec(CREATE_STORYBOARDS), postgres: CREATE_STORYBOARDS }];

/** A row of the storyboards table, as both stores read it. */
export interface StoryboardRecord {
  id: string;
  body: string;
  provenance: string;
  created_at: string;
  updated_at: string;
}

export function toStoryboard(row: StoryboardRecord): Storyboard {
  const body = JSON.parse(row.body) as StoryboardBody;
  return { id: row.id, ...body, provenance: JSON.parse(row.provenance) as StoryboardProvenance, created_at: row.created_at, updated_at: row.updated_at };
}

/** Storyboards in livefx.db behind the StoryboardStore port (Promises, so another catalog can replace it). */
export class SqliteStoryboardStore implements StoryboardStore {
  private readonly insertStatement: Statement;
  private readonly getStatement: Statement;
  private readonly listStatement: Statement;
  private readonly replaceStatement: Statement;
  private readonly deleteStatement: Statement;

  constructor(db: Database) {
    this.insertStatement = db.prepare('INSERT INTO storyboards (id, body, provenance, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
    this.getStatement = db.prepare('SELECT * FROM storyboards WHERE id = ?');
    this.listStatement = db.prepare('SELECT * FROM storyboards ORDER BY created_at DESC, id DESC');
    this.replaceStatement = db.prepare('UPDATE storyboards SET body = ?, updated_at = ? WHERE id = ?');
    this.deleteStatement = db.prepare('DELETE FROM storyboards WHERE id = ?');
  }

  async create(body: StoryboardBody, provenance: StoryboardProvenance): Promise<Storyboard> {
    const id = `sb_${randomUUID()}`;
    const now = new Date().toISOString();
    this.insertStatement.run(id, JSON.stringify(body), JSON.stringify(provenance), now, now);
    return { id, ...body, provenance, created_at: now, updated_at: now };
  }

  async get(id: string): Promise<Storyboard | undefined> {
    const row = this.getStatement.get(id) as StoryboardRecord | undefined;
    return row ? toStoryboard(row) : undefined;
  }

  async list(): Promise<Storyboard[]> {
    return (this.listStatement.all() as StoryboardRecord[]).map(toStoryboard);
  }

  async replace(id: string, body: StoryboardBody): Promise<Storyboard | undefined> {
    const changed = this.replaceStatement.run(JSON.stringify(body), new Date().toISOString(), id).changes;
    return changed > 0 ? this.get(id) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    return this.deleteStatement.run(id).changes > 0;
  }
}
