import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LivefxError } from '../../core/errors.js';
import { inspectAssets, type AssetInspection, type AssetKind } from './asset-inspector.js';

/** Why an asset operation was refused: a stable code, its HTTP status, and a message naming the problem. */
export class AssetError extends LivefxError {
  override name = 'AssetError';
  declare readonly code: 'invalid_file_name' | 'invalid_lut' | 'invalid_image' | 'invalid_audio' | 'file_exists' | 'file_not_found' | 'file_too_large';
  constructor(code: AssetError['code'], httpStatus: number, message: string) {
    super(code, message, { httpStatus });
  }
}

/** One file of the folder as the API lists it: name, size on disk, and what inspection found. */
export type AssetEntry = { name: string; bytes: number } & Record<string, string | number | null>;

export interface AssetFolderOptions {
  kind: AssetKind;
  dir: string;
  /** Names the transforms accept (LUT_FILE_NAME, IMAGE_FILE_NAME): a name, never a path. */
  namePattern: RegExp;
  /** Says in words what namePattern allows. */
  nameRule: string;
  maxBytes: number;
  /** The detail fields of an entry, null when the file is unusable (then `error` says why). */
  detailFields: readonly string[];
  /** Checks one file instead of the LUT/image inspector thread (music tracks: ffprobe). */
  inspect?: (file: string) => Promise<AssetInspection>;
}

/** Per kind: the refusal of an unusable upload, and how messages name the folder and one file of it. */
const KIND_WORDS: Record<AssetKind, { invalid: 'invalid_lut' | 'invalid_image' | 'invalid_audio'; usable: string; folder: string; one: string }> = {
  lut: { invalid: 'invalid_lut', usable: 'a usable .cube file', folder: 'LUT', one: 'a LUT' },
  image: { invalid: 'invalid_image', usable: 'a usable PNG or JPEG', folder: 'images', one: 'an image' },
  audio: { invalid: 'invalid_audio', usable: 'a usable audio file', folder: 'music', one: 'a music track' },
};

/**
 * A folder of uploaded files for a transform (`luts/`, `images/`): listing, atomic uploads that
 * are checked before they become visible, and deletes. Names are checked against the same
 * pattern the chain spec uses, and the resolved path must stay inside the folder.
 */
export class AssetFolder {
  /** Inspection results by name, valid while the file's size and mtime are unchanged. */
  private readonly cache = new Map<string, { stamp: string; entry: AssetEntry }>();

  constructor(readonly options: AssetFolderOptions) {}

  get kind(): AssetKind {
    return this.options.kind;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** The path of `name` in the folder; invalid_file_name for anything that is not a plain allowed name. */
  pathOf(name: string): string {
    const { dir, namePattern, nameRule } = this.options;
    const full = path.resolve(dir, name);
    if (!namePattern.test(name) || path.dirname(full) !== path.resolve(dir)) {
      throw new AssetError('invalid_file_name', 400, `"${name.slice(0, 200)}" is not an allowed file name: ${nameRule}`);
    }
    return full;
  }

  async list(): Promise<AssetEntry[]> {
    const names = (await readdir(this.options.dir).catch(() => [] as string[])).filter((name) => this.options.namePattern.test(name)).sort();
    const files = await Promise.all(names.map(async (name) => ({ name, info: await stat(path.join(this.options.dir, name)).catch(() => undefined) })));
    const entries = new Map<string, AssetEntry>();
    const stale: { name: string; bytes: number; stamp: string }[] = [];
    for (const { name, info } of files) {
      if (!info?.isFile()) continue;
      const stamp = `${info.size}:${info.mtimeMs}`;
      const cached = this.cache.get(name);
      if (cached?.stamp === stamp) entries.set(name, cached.entry);
      else stale.push({ name, bytes: info.size, stamp });
    }
    // Only new or changed files are inspected again (once per change, in one worker).
    const inspections = await this.inspect(stale.map((file) => path.join(this.options.dir, file.name)));
    stale.forEach((file, position) => {
      const inspection = inspections[position]!;
      const entry = this.entryOf(file.name, file.bytes, inspection.ok ? inspection.details : undefined, inspection.ok ? undefined : inspection.error);
      this.cache.set(file.name, { stamp: file.stamp, entry });
      entries.set(file.name, entry);
    });
    return names.flatMap((name) => entries.get(name) ?? []);
  }

  /**
   * Stores an upload: written to a temporary file, inspected, then renamed into place (or linked,
   * which fails atomically when the name exists and `overwrite` is off). A refused file leaves nothing behind.
   */
  async store(name: string, data: Buffer, overwrite: boolean): Promise<AssetEntry> {
    const target = this.pathOf(name);
    if (data.length > this.maxBytes) throw this.tooLarge();
    await mkdir(this.options.dir, { recursive: true });
    if (!overwrite && (await exists(target))) throw this.exists(name);
    // A leading dot keeps the temporary file out of listings: no allowed name starts with one.
    const temporary = path.join(this.options.dir, `.upload-${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(temporary, data);
    try {
      const [inspection] = await this.inspect([temporary]);
      if (!inspection!.ok) {
        const words = KIND_WORDS[this.kind];
        throw new AssetError(words.invalid, 422, `"${name}" is not ${words.usable}: ${inspection!.error}`);
      }
      if (overwrite) await rename(temporary, target);
      else {
        await link(temporary, target).catch((error: NodeJS.ErrnoException) => {
          throw error.code === 'EEXIST' ? this.exists(name) : error;
        });
      }
      const entry = this.entryOf(name, data.length, inspection!.details, undefined);
      const info = await stat(target);
      this.cache.set(name, { stamp: `${info.size}:${info.mtimeMs}`, entry });
      return entry;
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  async remove(name: string): Promise<void> {
    const target = this.pathOf(name);
    await unlink(target).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new AssetError('file_not_found', 404, `no file "${name}" in the ${KIND_WORDS[this.kind].folder} folder`) : error;
    });
    this.cache.delete(name);
  }

  tooLarge(): AssetError {
    return new AssetError('file_too_large', 413, `the file is larger than the ${this.maxBytes / (1024 * 1024)} MiB allowed for ${KIND_WORDS[this.kind].one}`);
  }

  private inspect(files: string[]): Promise<AssetInspection[]> {
    const inspect = this.options.inspect;
    return inspect ? Promise.all(files.map((file) => inspect(file))) : inspectAssets(this.kind, files);
  }

  private exists(name: string): AssetError {
    return new AssetError('file_exists', 409, `"${name}" exists already: upload with ?overwrite=true to replace it`);
  }

  private entryOf(name: string, bytes: number, details: Record<string, string | number> | undefined, error: string | undefined): AssetEntry {
    const entry: AssetEntry = { name, bytes };
    for (const field of this.options.detailFields) entry[field] = details?.[field] ?? null;
    if (error !== undefined) entry.error = error;
    return entry;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
