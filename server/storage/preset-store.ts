import { LivefxError } from '../../core/errors.js';
import { parseChainSpec, type ChainSpec } from '../../transforms/chain-spec.js';
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

/** Both backends read this DDL the same way. */
const CREATE_PRESETS = `CREATE TABLE presets (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
)`;

export const presetMigrations: readonly Migration[] = [{ id: 'presets/1-create', up: (db) => db.exec(CREATE_PRESETS), postgres: CREATE_PRESETS }];

/** Why a preset operation was refused: a stable code, its HTTP status, and a message naming the problem. */
export class PresetError extends LivefxError {
  override name = 'PresetError';
  declare readonly code: 'invalid_preset_name' | 'invalid_chain' | 'preset_not_found';
  constructor(code: PresetError['code'], httpStatus: number, message: string) {
    super(code, message, { httpStatus });
  }
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

/**
 * Named chain specs shared by every stream: the seam a networked store (PostgreSQL) implements. Every
 * call is asynchronous; names and specs are checked with `checkPresetName` and `parsePresetSpec` by
 * every store, so refusals read the same whatever the backend. `SqlitePresetStore` (livefx.db) is the default.
 */
export interface PresetStore {
  list(): Promise<Preset[]>;
  get(name: string): Promise<Preset | undefined>;
  /** Like get, but a missing preset is a PresetError (preset_not_found). */
  require(name: string): Promise<Preset>;
  /** Creates or replaces a preset; the spec is stored with its defaults filled in. */
  save(name: string, input: unknown, updatedBy: string): Promise<{ preset: Preset; created: boolean }>;
  /** Deletes a preset; preset_not_found when there is none by that name. */
  delete(name: string, deletedBy: string): Promise<void>;
  on<E extends keyof PresetStoreEvents>(event: E, listener: (...args: PresetStoreEvents[E]) => void): this;
  off<E extends keyof PresetStoreEvents>(event: E, listener: (...args: PresetStoreEvents[E]) => void): this;
}

/** Refuses a name that is not 1–64 plain characters (invalid_preset_name). */
export function checkPresetName(name: string): void {
  if (!PRESET_NAME.test(name)) {
    throw new PresetError('invalid_preset_name', 400, `preset name "${name.slice(0, 80)}" must be 1–64 letters, digits or " ._-", starting with a letter, digit or _`);
  }
}

/** The spec as stored, defaults filled in; invalid_chain naming the problem otherwise. */
export function parsePresetSpec(input: unknown): ChainSpec {
  const parsed = parseChainSpec(input);
  if (!parsed.ok) throw new PresetError('invalid_chain', 400, parsed.error);
  return parsed.spec;
}

/** A row of the presets table, as both stores read it. */
export interface PresetRow {
  name: string;
  spec: string;
  created_at: string;
  updated_at: string;
  updated_by: string;
}

export function fromRow(row: PresetRow): Preset {
  return { name: row.name, spec: JSON.parse(row.spec) as ChainSpec, createdAt: row.created_at, updatedAt: row.updated_at, updatedBy: row.updated_by };
}

/** The refusal of a delete or apply naming a preset that is not there. */
export const presetNotFound = (name: string): PresetError => new PresetError('preset_not_found', 404, `no preset named "${name}"`);
