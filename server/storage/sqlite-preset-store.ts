import type { Database, Statement } from 'better-sqlite3';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { checkPresetName, fromRow, parsePresetSpec, presetNotFound, type Preset, type PresetChange, type PresetRow, type PresetStore, type PresetStoreEvents } from './preset-store.js';

export interface SqlitePresetStoreOptions {
  db: Database;
}

interface UpsertValues {
  name: string;
  spec: string;
  now: string;
  updatedBy: string;
}

/** Presets in the `presets` table of livefx.db; specs are validated like a stream's chain before they are stored. */
export class SqlitePresetStore extends TypedEmitter<PresetStoreEvents> implements PresetStore {
  private readonly statements: { list: Statement<[], PresetRow>; get: Statement<[string], PresetRow>; upsert: Statement<[UpsertValues]>; remove: Statement<[string]> };

  constructor(options: SqlitePresetStoreOptions) {
    super();
    const { db } = options;
    this.statements = {
      list: db.prepare<[], PresetRow>('SELECT * FROM presets ORDER BY name'),
      get: db.prepare<[string], PresetRow>('SELECT * FROM presets WHERE name = ?'),
      upsert: db.prepare<[UpsertValues]>(
        `INSERT INTO presets (name, spec, created_at, updated_at, updated_by) VALUES (@name, @spec, @now, @now, @updatedBy)
         ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      ),
      remove: db.prepare<[string]>('DELETE FROM presets WHERE name = ?'),
    };
  }

  async list(): Promise<Preset[]> {
    return this.all();
  }

  async get(name: string): Promise<Preset | undefined> {
    return this.one(name);
  }

  async require(name: string): Promise<Preset> {
    const preset = this.one(name);
    if (!preset) throw presetNotFound(name);
    return preset;
  }

  async save(name: string, input: unknown, updatedBy: string): Promise<{ preset: Preset; created: boolean }> {
    checkPresetName(name);
    const spec = parsePresetSpec(input);
    const created = this.one(name) === undefined;
    this.statements.upsert.run({ name, spec: JSON.stringify(spec), now: new Date().toISOString(), updatedBy });
    this.announce({ action: created ? 'created' : 'replaced', name, by: updatedBy });
    return { preset: this.one(name)!, created };
  }

  async delete(name: string, deletedBy: string): Promise<void> {
    checkPresetName(name);
    if (this.statements.remove.run(name).changes === 0) throw presetNotFound(name);
    this.announce({ action: 'deleted', name, by: deletedBy });
  }

  private all(): Preset[] {
    return this.statements.list.all().map(fromRow);
  }

  private one(name: string): Preset | undefined {
    const row = this.statements.get.get(name);
    return row ? fromRow(row) : undefined;
  }

  private announce(change: PresetChange): void {
    this.safeEmit('changed', this.all(), change);
  }
}
