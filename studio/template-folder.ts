import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ZodError } from 'zod';
import { LivefxError } from '../core/errors.js';
import type { Planner, TemplateHints } from './planner.js';
import type { StudioCaller, TemplateField, TemplateLibrary, TemplateSummary } from './ports.js';
import { ASPECTS, LOOKS, storyboardBodySchema, type StoryboardBody } from './storyboard.js';
import type { StudioSources } from './studio-sources.js';
import { fillMergeFields, mergeFieldsIn, RESERVED_MERGE_KEYS, TEMPLATE_NAME, templateDocumentSchema, type TemplateDocument, type TemplateFieldSpec } from './template-document.js';

/** Largest template file a user may upload (LIVEFX_TEMPLATE_MAX_KB's default). */
export const DEFAULT_TEMPLATE_MAX_BYTES = 64 * 1024;
const DEFAULT_SEED = 42;

export interface TemplateFolderOptions {
  /** Where uploaded templates are stored (`$LIVEFX_DATA_DIR/templates`). */
  dir: string;
  maxBytes?: number;
  sources: StudioSources;
  /** Fills `"source": "auto"` clips; without one they become title cards. */
  planner?: Planner;
  /** Stored preset names (a `style` merge value may name one). */
  presetNames?: () => string[] | Promise<string[]>;
}

/** studio/templates/ beside this file (sources) or in the repository (built into dist/studio/). */
function builtinDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'templates');
  if (existsSync(beside)) return beside;
  return path.resolve(here, '..', '..', 'studio', 'templates');
}

/**
 * Templates behind the TemplateLibrary port: the built-ins shipped in studio/templates/*.json (read once,
 * never deleted or replaced) and the ones users upload, stored as `<name>.json` in the data directory
 * after validation. `expand` fills one with merge values into a storyboard body ready to render.
 */
export class TemplateFolder implements TemplateLibrary {
  private readonly builtins = new Map<string, TemplateDocument>();
  readonly maxBytes: number;

  private readonly options: TemplateFolderOptions;

  constructor(options: TemplateFolderOptions) {
    this.options = { ...options };
    this.maxBytes = options.maxBytes ?? DEFAULT_TEMPLATE_MAX_BYTES;
    const dir = builtinDir();
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.json')).sort()) {
      const document = TemplateFolder.parse(readFileSync(path.join(dir, file), 'utf8'), Number.POSITIVE_INFINITY);
      this.builtins.set(document.name, document);
    }
  }

  /** Validates a template's text: JSON, within the size limit, the schema, merge fields declared, and the skeleton a valid storyboard. */
  static parse(text: string | Buffer, maxBytes: number): TemplateDocument {
    const bytes = Buffer.byteLength(text);
    if (bytes > maxBytes) throw new LivefxError('file_too_large', `the template is ${bytes} bytes, over the ${maxBytes} bytes allowed (LIVEFX_TEMPLATE_MAX_KB)`);
    let json: unknown;
    try {
      json = JSON.parse(text.toString());
    } catch (error) {
      throw new LivefxError('invalid_request', `the template is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    return TemplateFolder.validate(json);
  }

  static validate(json: unknown): TemplateDocument {
    const parsed = templateDocumentSchema.safeParse(json);
    if (!parsed.success) throw invalidTemplate(parsed.error);
    const document = parsed.data;
    const declared = new Map(document.fields.map((field) => [field.name, field]));
    if (declared.size !== document.fields.length) throw new LivefxError('invalid_template', 'fields: a field name appears twice');
    for (const name of mergeFieldsIn({ ...document, fields: [] })) {
      if (!declared.has(name) && !(RESERVED_MERGE_KEYS as readonly string[]).includes(name)) throw new LivefxError('invalid_template', `the template uses {{${name}}} but declares no field "${name}" in "fields"`);
    }
    for (const field of document.fields) {
      if (field.default !== undefined) {
        const problem = typeProblem(field, field.default);
        if (problem) throw new LivefxError('invalid_template', `fields.${field.name}.default: ${problem}`);
      }
    }
    // A dry run with sample values: a skeleton that cannot become a valid storyboard is refused now, not at render time.
    const sample = new Map<string, unknown>(document.fields.map((field) => [field.name, field.default ?? sampleValue(field)]));
    sample.set('aspect', document.aspect);
    sample.set('style', document.style);
    const body = skeleton(document, sample, () => ({ recording_id: 'sample', in: 0, out: 1 }));
    const checked = storyboardBodySchema.safeParse(body);
    if (!checked.success) throw invalidTemplate(checked.error, 'with sample merge values the storyboard');
    return document;
  }

  async list(): Promise<TemplateSummary[]> {
    const users = await this.userTemplates();
    const all = [...[...this.builtins.values()].map((document) => summary(document, true)), ...users.filter((document) => !this.builtins.has(document.name)).map((document) => summary(document, false))];
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<TemplateDocument | undefined> {
    const builtin = this.builtins.get(name);
    if (builtin) return builtin;
    if (!TEMPLATE_NAME.test(name)) return undefined;
    const text = await readFile(this.fileOf(name), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      return TemplateFolder.parse(text, Number.POSITIVE_INFINITY);
    } catch {
      return undefined;
    }
  }

  /** The planner comes after the library when each needs the other (the planner reads template hints). */
  attachPlanner(planner: Planner): void {
    this.options.planner = planner;
  }

  isBuiltin(name: string): boolean {
    return this.builtins.has(name);
  }

  /** Stores an uploaded template under `name` (written to a temporary file, then renamed into place). */
  async put(name: string, text: string | Buffer): Promise<{ summary: TemplateSummary; created: boolean }> {
    this.checkName(name);
    if (this.builtins.has(name)) throw new LivefxError('builtin_template', `"${name}" is a built-in template and cannot be replaced: upload yours under another name`);
    const document = TemplateFolder.parse(text, this.maxBytes);
    if (document.name !== name) throw new LivefxError('invalid_template', `name: the template says "${document.name}" but is uploaded as "${name}"`);
    await mkdir(this.options.dir, { recursive: true });
    const target = this.fileOf(name);
    const created = !existsSync(target);
    const temporary = path.join(this.options.dir, `.upload-${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(temporary, JSON.stringify(document, null, 2));
    await rename(temporary, target);
    return { summary: summary(document, false), created };
  }

  async remove(name: string): Promise<void> {
    this.checkName(name);
    if (this.builtins.has(name)) throw new LivefxError('builtin_template', `"${name}" is a built-in template and cannot be deleted`);
    await unlink(this.fileOf(name)).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? notFound(name) : error;
    });
  }

  /** What the planner follows when a storyboard request names this template. */
  async hints(name: string): Promise<TemplateHints | undefined> {
    const document = await this.get(name);
    if (!document) return undefined;
    const music = document.music && !mergeFieldsIn(document.music).size ? storyboardBodySchema.shape.music.safeParse(document.music) : undefined;
    return {
      name,
      duration_s: document.duration_s,
      aspect: document.aspect,
      style: document.style,
      titleCard: document.shots[0]?.kind === 'title',
      endCard: document.shots.length > 1 && document.shots[document.shots.length - 1]?.kind === 'title',
      ...(music?.success && music.data ? { music: music.data } : {}),
    };
  }

  async expand(template: string | object, merge: Record<string, unknown>, sources: { recording_ids?: string[]; asset_ids?: string[] }, caller: StudioCaller, seed?: number): Promise<StoryboardBody> {
    const document = typeof template === 'string' ? await this.get(template) : TemplateFolder.validate(template);
    if (!document) throw notFound(String(template));
    const declared = new Map(document.fields.map((field) => [field.name, field]));
    for (const key of Object.keys(merge)) {
      if (!declared.has(key) && !(RESERVED_MERGE_KEYS as readonly string[]).includes(key)) {
        throw new LivefxError('unknown_merge_field', `merge.${key}: template "${document.name}" has no field "${key}" (its fields: ${[...declared.keys()].join(', ') || 'none'})`, { details: { field: key } });
      }
    }
    const values = new Map<string, unknown>();
    for (const field of document.fields) {
      const given = merge[field.name];
      if (given === undefined || given === null || given === '') {
        if (field.required && field.default === undefined) throw new LivefxError('missing_merge_field', `merge.${field.name}: template "${document.name}" needs a value for the required ${field.type} field "${field.name}"`, { details: { field: field.name } });
        values.set(field.name, field.default);
        continue;
      }
      values.set(field.name, await this.coerce(field, given, caller));
    }
    values.set('aspect', await this.reserved('aspect', merge.aspect, document.aspect));
    values.set('style', await this.reserved('style', merge.style, document.style));
    const recordingIds = sources.recording_ids ?? [...new Set(document.fields.filter((field) => field.type === 'recording').map((field) => values.get(field.name)).filter((id): id is string => typeof id === 'string'))];
    const assets = await this.options.sources.assets(sources.asset_ids ?? []);
    const filled = fillMergeFields(document.shots, values) as TemplateDocument['shots'];
    const kept = filled.filter((shot, position) => document.shots[position]!.when === undefined || isPresent(values.get(/\{\{\s*(\w+)\s*\}\}/.exec(document.shots[position]!.when!)?.[1] ?? '')));
    const prompt = String(fillMergeFields(document.prompt, values));
    // "auto" clips: the planner's best moments for the template's prompt, longest shots first.
    const autoLengths = kept.filter((shot) => shot.source === 'auto').map((shot) => Number(shot.duration));
    let moments: Awaited<ReturnType<Planner['moments']>> = [];
    const readable = sources.recording_ids ?? (recordingIds.length > 0 ? recordingIds : undefined);
    if (autoLengths.length > 0 && this.options.planner && (await this.options.sources.recordings(caller, readable)).length > 0) {
      moments = await this.options.planner.moments(caller, readable, prompt, autoLengths, seed ?? DEFAULT_SEED);
    }
    let next = 0;
    let asset = 0;
    const body = skeleton(
      { ...document, shots: kept, prompt },
      values,
      () => moments[next++]?.source,
      (shot) => {
        // No recording to cut from: an uploaded image, else a card with the shot's (or the prompt's) text.
        const image = assets[asset++ % Math.max(1, assets.length)];
        if (image !== undefined) return { kind: 'image', source: { asset_id: image }, camera: 'push-in', reasons: ['template clip without recordings: an uploaded image', `asset: ${image}`] };
        return { kind: 'title', text: shot.text || prompt.slice(0, 200), camera: 'static', reasons: ['template clip without recordings: a title card'] };
      },
      (position) => moments[position]?.reasons,
    );
    if (seed !== undefined) body.seed = seed;
    const checked = storyboardBodySchema.safeParse(body);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      const where = issue.path.join('.');
      const field = fieldBehind(document, issue.path);
      throw new LivefxError(
        field ? 'invalid_merge_value' : 'invalid_template',
        field ? `merge.${field}: the value makes ${where} invalid: ${issue.message}` : `template "${document.name}" gives an invalid storyboard: ${where}: ${issue.message}`,
        field ? { details: { field } } : {},
      );
    }
    return checked.data;
  }

  private async coerce(field: TemplateFieldSpec, value: unknown, caller: StudioCaller): Promise<unknown> {
    const coerced = coerceValue(field, value);
    const problem = typeProblem(field, coerced);
    if (problem) throw new LivefxError('invalid_merge_value', `merge.${field.name}: ${problem}, got ${JSON.stringify(value).slice(0, 100)}`, { details: { field: field.name } });
    if (field.type === 'asset') await this.options.sources.assetFile(coerced as string);
    if (field.type === 'recording') await this.options.sources.recordings(caller, [coerced as string]);
    return coerced;
  }

  private async reserved(key: 'aspect' | 'style', value: unknown, fallback: string): Promise<string> {
    if (value === undefined || value === null || value === '') return fallback;
    const presets = this.options.presetNames ? await this.options.presetNames() : [];
    const allowed: readonly string[] = key === 'aspect' ? ASPECTS : [...LOOKS, ...presets];
    if (typeof value !== 'string' || !allowed.includes(value)) throw new LivefxError('invalid_merge_value', `merge.${key}: must be one of ${allowed.join(', ')}, got ${JSON.stringify(value).slice(0, 100)}`, { details: { field: key } });
    return value;
  }

  private checkName(name: string): void {
    if (!TEMPLATE_NAME.test(name)) throw new LivefxError('invalid_file_name', `"${name.slice(0, 100)}" is not a template name: letters, digits and "._-" (up to 64), starting with a letter or digit; no folders or ".."`);
  }

  private fileOf(name: string): string {
    return path.join(this.options.dir, `${name}.json`);
  }

  private async userTemplates(): Promise<TemplateDocument[]> {
    const names = await readdir(this.options.dir).catch(() => [] as string[]);
    const documents: TemplateDocument[] = [];
    for (const file of names.filter((name) => name.endsWith('.json')).sort()) {
      const document = await this.get(file.slice(0, -'.json'.length));
      if (document && !this.builtins.has(document.name)) documents.push(document);
    }
    return documents;
  }
}

/** The storyboard body of a filled skeleton: indexes, starts, and the total are computed from the shots. */
function skeleton(
  document: TemplateDocument,
  values: ReadonlyMap<string, unknown>,
  autoSource: () => { recording_id: string; in: number; out: number } | undefined,
  fallback?: (shot: TemplateDocument['shots'][number]) => Record<string, unknown>,
  autoReasons?: (position: number) => string[] | undefined,
): StoryboardBody {
  const filled = fillMergeFields(document.shots, values) as Record<string, unknown>[];
  let start = 0;
  let autoPosition = 0;
  const shots = filled.map((raw, index) => {
    const { when: _when, ...shot } = raw;
    let placed: Record<string, unknown> = { reasons: [`template "${document.name}", shot ${index + 1}`], ...shot, index, start: Math.round(start * 1000) / 1000 };
    if (shot.source === 'auto') {
      const source = autoSource();
      const reasons = autoReasons?.(autoPosition++);
      if (source) placed = { ...placed, kind: 'clip', source, reasons: [`template "${document.name}": a clip chosen for "${document.prompt.slice(0, 80)}"`, ...(reasons ?? [])] };
      else if (fallback) {
        const { source: _auto, ...rest } = placed;
        placed = { ...rest, ...fallback(shot as TemplateDocument['shots'][number]) };
      }
    }
    start += Number(shot.duration) || 0;
    return placed;
  });
  return {
    prompt: String(fillMergeFields(document.prompt, values)),
    style: String(values.get('style') ?? document.style),
    aspect: (values.get('aspect') ?? document.aspect) as StoryboardBody['aspect'],
    duration_s: Math.round(start * 1000) / 1000,
    seed: DEFAULT_SEED,
    shots: shots as unknown as StoryboardBody['shots'],
    captions: document.captions,
    ...(document.music ? { music: fillMergeFields(document.music, values) as StoryboardBody['music'] } : {}),
    ...(document.voiceover ? { voiceover: fillMergeFields(document.voiceover, values) as StoryboardBody['voiceover'] } : {}),
    template: document.name,
  };
}

function summary(document: TemplateDocument, builtin: boolean): TemplateSummary {
  const fields: TemplateField[] = document.fields.map((field) => ({ name: field.name, type: field.type, required: field.required, ...(field.default !== undefined ? { default: field.default } : {}) }));
  return { name: document.name, description: document.description, duration_s: document.duration_s, aspect: document.aspect, fields, builtin };
}

function coerceValue(field: TemplateFieldSpec, value: unknown): unknown {
  // Merge values from a command line arrive as text: "5", "5s", "true".
  if ((field.type === 'number' || field.type === 'duration') && typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*s?\s*$/.test(value)) return Number(value.replace(/s?\s*$/, ''));
  if (field.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function typeProblem(field: TemplateFieldSpec, value: unknown): string | undefined {
  switch (field.type) {
    case 'text':
      return typeof value === 'string' && value.length <= 500 ? undefined : 'must be text of at most 500 characters';
    case 'color':
      return typeof value === 'string' && /^#[0-9a-f]{6}$/i.test(value) ? undefined : 'must be a colour written #rrggbb';
    case 'asset':
    case 'recording':
      return typeof value === 'string' && value.length > 0 && value.length <= 200 ? undefined : `must be ${field.type === 'asset' ? 'an asset id (an image file name)' : 'a recording id'}`;
    case 'duration':
      return typeof value === 'number' && Number.isFinite(value) && value >= 0.2 && value <= 180 ? undefined : 'must be a duration in seconds between 0.2 and 180';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
  }
}

function sampleValue(field: TemplateFieldSpec): unknown {
  return { text: 'Sample', color: '#336699', asset: 'sample.png', recording: 'sample', duration: 3, number: 1, boolean: true }[field.type];
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '' && value !== false;
}

/** The merge field a storyboard path was filled from, if it was one. */
function fieldBehind(document: TemplateDocument, issuePath: readonly PropertyKey[]): string | undefined {
  let value: unknown = { ...document, shots: document.shots };
  for (const key of issuePath) {
    if (value && typeof value === 'object') value = (value as Record<string, unknown>)[String(key)];
    else return undefined;
  }
  const fields = typeof value === 'string' ? [...mergeFieldsIn(value)] : [];
  return fields[0];
}

function invalidTemplate(error: ZodError, prefix = 'the template'): LivefxError {
  const issue = error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'template';
  return new LivefxError('invalid_template', `${prefix === 'the template' ? where : `${prefix}: ${where}`}: ${issue.message}`, { details: { field: where } });
}

function notFound(name: string): LivefxError {
  return new LivefxError('template_not_found', `no template named "${name.slice(0, 100)}" (GET /v1/video/templates lists them)`);
}
