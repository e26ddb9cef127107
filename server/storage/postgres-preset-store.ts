import type { PostgresDatabase } from '../../core/postgres-database.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { checkPresetName, fromRow, parsePresetSpec, presetNotFound, type Preset, type PresetChange, type PresetRow, type PresetStore, type PresetStoreEvents } from './preset-store.js';

const CHANGED_CHANNEL = 'livefx_preset_changed';

export interface PostgresPresetStoreOptions {
  database: PostgresDatabase;
}

/** Presets in the shared PostgreSQL database: saved through one node, listed and applied through every node. */
export class PostgresPresetStore extends TypedEmitter<PresetStoreEvents> implements PresetStore {
  private readonly database: PostgresDatabase;

  constructor(options: PostgresPresetStoreOptions) {
    super();
    this.database = options.database;
    // A change made through another node reaches this node's operator consoles too.
    this.database.listen(CHANGED_CHANNEL, (payload) => {
      const change = payload as PresetChange | undefined;
      if (typeof change?.name !== 'string' || typeof change.by !== 'string' || !['created', 'replaced', 'deleted'].includes(change.action)) return;
      this.list().then(
        (list) => this.safeEmit('changed', list, change),
        () => undefined,
      );
    });
  }

  async list(): Promise<Preset[]> {
    // "C": the byte order SQLite sorts by, whatever the database's collation.
    return (await this.database.query<PresetRow>('SELECT * FROM presets ORDER BY name COLLATE "C"')).rows.map(fromRow);
  }

  async get(name: string): Promise<Preset | undefined> {
    return this.database.queryOne('SELECT * FROM presets WHERE name = $1', [name], fromRow);
  }

  async require(name: string): Promise<Preset> {
    const preset = await this.get(name);
    if (!preset) throw presetNotFound(name);
    return preset;
  }

  /** One upsert; `xmax = 0` tells a row just inserted from one updated, so two nodes saving at once agree on who created it. */
  async save(name: string, input: unknown, updatedBy: string): Promise<{ preset: Preset; created: boolean }> {
    checkPresetName(name);
    const spec = parsePresetSpec(input);
    const { rows } = await this.database.query<PresetRow & { created: boolean }>(
      `INSERT INTO presets (name, spec, created_at, updated_at, updated_by) VALUES ($1, $2, $3, $3, $4)
       ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at, updated_by = excluded.updated_by
       RETURNING *, (xmax = 0) AS created`,
      [name, JSON.stringify(spec), new Date().toISOString(), updatedBy],
    );
    const row = rows[0]!;
    await this.announce({ action: row.created ? 'created' : 'replaced', name, by: updatedBy });
    return { preset: fromRow(row), created: row.created };
  }

  async delete(name: string, deletedBy: string): Promise<void> {
    checkPresetName(name);
    if ((await this.database.query('DELETE FROM presets WHERE name = $1', [name])).rowCount === 0) throw presetNotFound(name);
    await this.announce({ action: 'deleted', name, by: deletedBy });
  }

  private async announce(change: PresetChange): Promise<void> {
    this.safeEmit('changed', await this.list(), change);
    await this.database.notify(CHANGED_CHANNEL, change).catch(() => undefined);
  }
}
