import type { Database, Statement } from 'better-sqlite3';
import { LivefxError } from '../../core/errors.js';
import { parseChainSpec, type ChainSpec } from '../../transforms/chain-spec.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type { Migration } from '../../core/database.js';

/** A named chain spec an operator can apply to any stream. */
export interface Preset {
  name: string;
  spec: ChainSpec;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

/** Preset names: shown in lists and used in URLs, so short and plain. */
export const PRESET_NAME = /^[\w][\w .-]{0,63}$/;

export const presetMigrations: readonly Migration[] = [
  {
    id: 'presets/1-create',
    up: (db) =>
      db.exec(`CREATE TABLE presets (
        name TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
      )`),
  },
];

/** Why a preset operation was refused: a stable code, its HTTP status, and a message naming the problem. */
export class PresetError extends LivefxError {
  override name = 'PresetError';
  declare readonly code: 'invalid_preset_name' | 'invalid_chain' | 'preset_not_found';
  constructor(code: PresetError['code'], httpStatus: number, message: string) {
    super(code, message, { httpStatus });
  }
}

interface UpsertValues {
  name: string;
  spec: string;
  now: string;
  updatedBy: string;
}

interface PresetRow {
  name: string;
  spec: string;
  created_at: string;
  updated_at: string;
  updated_by: string;
}

export type PresetStoreEvents = {
  /** Any save or delete; carries the whole list, which is what consoles show, and what changed by whom. */
  changed: [presets: Preset[], change: PresetChange];
};

export interface PresetChange {
  action: 'created' | 'replaced' | 'deleted';
  name: string;
  by: string;
}

/** Presets in the `presets` table of livefx.db; specs are validated like a stream's chain before they are stored. */
export class PresetStore extends TypedEmitter<PresetStoreEvents> {
  private readonly statements: { list: Statement<[], PresetRow>; get: Statement<[string], PresetRow>; upsert: Statement<[UpsertValues]>; remove: Statement<[string]> };

  constructor(db: Database) {
    super();
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

  list(): Preset[] {
    return this.statements.list.all().map(fromRow);
  }

  get(name: string): Preset | undefined {
    const row = this.statements.get.get(name);
    return row ? fromRow(row) : undefined;
  }

  /** Like get, but a missing preset is a PresetError (preset_not_found). */
  require(name: string): Preset {
    const preset = this.get(name);
    if (!preset) throw new PresetError('preset_not_found', 404, `no preset named "${name}"`);
    return preset;
  }

  /** Creates or replaces a preset; the spec is stored with its defaults filled in. */
  save(name: string, input: unknown, updatedBy: string): { preset: Preset; created: boolean } {
    checkName(name);
    const parsed = parseChainSpec(input);
    if (!parsed.ok) throw new PresetError('invalid_chain', 400, parsed.error);
    const created = this.get(name) === undefined;
    this.statements.upsert.run({ name, spec: JSON.stringify(parsed.spec), now: new Date().toISOString(), updatedBy });
    this.announce({ action: created ? 'created' : 'replaced', name, by: updatedBy });
    return { preset: this.require(name), created };
  }

  /** Deletes a preset; preset_not_found when there is none by that name. */
  delete(name: string, deletedBy: string): void {
    checkName(name);
    if (this.statements.remove.run(name).changes === 0) throw new PresetError('preset_not_found', 404, `no preset named "${name}"`);
    this.announce({ action: 'deleted', name, by: deletedBy });
  }

  private announce(change: PresetChange): void {
    this.safeEmit('changed', this.list(), change);
  }
}

function checkName(name: string): void {
  if (!PRESET_NAME.test(name)) {
    throw new PresetError('invalid_preset_name', 400, `preset name "${name.slice(0, 80)}" must be 1–64 letters, digits or " ._-", starting with a letter, digit or _`);
  }
}

function fromRow(row: PresetRow): Preset {
  return { name: row.name, spec: JSON.parse(row.spec) as ChainSpec, createdAt: row.created_at, updatedAt: row.updated_at, updatedBy: row.updated_by };
}
