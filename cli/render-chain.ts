import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Chain, type ChainEntry } from '../transforms/chain.js';
import { parseChainSpec, withDisclosure, type ChainSpec } from '../transforms/chain-spec.js';
import { createTransform } from '../transforms/transform-factory.js';
import type { TransformBackend } from '../transforms/transform-backend.js';
import type { TransformReport } from '../transforms/transform.js';
import { CliError } from './cli-errors.js';

/** Where a spec came from, for messages ("spec grade.json", "preset "warm"") and for finding its files. */
export interface SpecSource {
  description: string;
  /** The spec file's folder, searched first for LUTs and images; undefined for stored presets. */
  folder: string | undefined;
}

export interface ValidatedSpec {
  spec: ChainSpec;
  /** The "AI-processed" label was added because a stylization is on and the spec had no label. */
  labelAdded: boolean;
  /** The spec switches the label off while a stylization is on. */
  labelOff: boolean;
}

/**
 * The server's rules, unchanged: the schema (defaults filled in), then the disclosure label. On the
 * command line a LUT or image may also be a path (absolute, or relative to the current folder): it is
 * checked here and given to the schema as a plain name, and the validated spec holds its absolute path.
 */
export function validateSpec(input: unknown, source: SpecSource): ValidatedSpec {
  const { spec: named, paths } = nameAssetPaths(input, source);
  const parsed = parseChainSpec(named);
  if (!parsed.ok) throw new CliError(`${source.description} is not a valid chain spec: ${parsed.error}`);
  for (const [index, file] of paths) parsed.spec.transforms[index]!.params.file = file;
  return withDisclosure(parsed.spec);
}

/** Asset files by transform: the folder of LIVEFX_DATA_DIR they live in, and what a path must end with. */
const ASSET_FOLDERS: Partial<Record<string, { folder: string; what: string; extension: RegExp; expected: string; placeholder: string }>> = {
  lut3d: { folder: 'luts', what: 'LUT', extension: /\.cube$/i, expected: '.cube', placeholder: 'command-line.cube' },
  image: { folder: 'images', what: 'image', extension: /\.(png|jpe?g)$/i, expected: '.png, .jpg or .jpeg', placeholder: 'command-line.png' },
};

/** A `file` the user typed as a path rather than a name in the asset folders. */
const isPath = (file: string): boolean => path.isAbsolute(file) || file.includes('/') || file.includes(path.sep);

/**
 * Swaps each asset path in a raw spec for a placeholder name the schema accepts (the file's own name
 * may hold characters the server's folder rule refuses), after checking the file is there.
 */
function nameAssetPaths(input: unknown, source: SpecSource): { spec: unknown; paths: Map<number, string> } {
  const paths = new Map<number, string>();
  if (!isRecord(input) || !Array.isArray(input.transforms)) return { spec: input, paths };
  const transforms = input.transforms.map((entry: unknown, index) => {
    if (!isRecord(entry) || !isRecord(entry.params) || typeof entry.params.file !== 'string' || !isPath(entry.params.file)) return entry;
    const asset = ASSET_FOLDERS[String(entry.name)];
    if (!asset) return entry;
    const file = path.resolve(entry.params.file);
    const where = `${source.description}: transforms.${index}.params.file`;
    if (!asset.extension.test(file)) throw new CliError(`${where}: ${file} is not a ${asset.what} file (expected ${asset.expected})`);
    if (!isFile(file)) throw new CliError(`${where}: ${asset.what} file ${file} not found`);
    paths.set(index, file);
    return { ...entry, params: { ...entry.params, file: asset.placeholder } };
  });
  return { spec: { ...input, transforms }, paths };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Transforms' reports during a render. Offline, prepare() waits for what live streams cannot (e.g.
 * face-blur's detections), so only errors matter; the rest shows with LIVEFX_LOG_LEVEL=debug.
 */
const reportToStderr: TransformReport = (level, message) => {
  if (level === 'error' || process.env.LIVEFX_LOG_LEVEL === 'debug') process.stderr.write(`livefx render: ${message}\n`);
};

/**
 * Builds the chain an offline render runs. Asset paths are used as they are; asset names are looked up
 * beside the spec first, then in LIVEFX_DATA_DIR; disabled transforms are left out since they change no pixel.
 */
export function buildRenderChain(spec: ChainSpec, source: SpecSource, dataDir: string, backend: TransformBackend = 'js'): Chain {
  const entries: ChainEntry[] = [];
  try {
    spec.transforms.forEach((entry, index) => {
      if (!entry.enabled) return;
      const folder = findAssetFolder(entry.name, entry.params, source, dataDir);
      try {
        entries.push({ transform: createTransform(entry, { lutDir: folder, imageDir: folder }, reportToStderr, backend), enabled: true });
      } catch (error) {
        throw new CliError(`${source.description}: transforms.${index} (${entry.name}): ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  } catch (error) {
    for (const entry of entries) entry.transform.close();
    throw error;
  }
  // Offline every frame must be exact: the chain keeps its timings but never degrades.
  const chain = new Chain(undefined, { adaptive: false });
  chain.replace(entries);
  return chain;
}

function findAssetFolder(name: string, params: Record<string, unknown>, source: SpecSource, dataDir: string): string {
  const asset = ASSET_FOLDERS[name];
  if (!asset) return dataDir;
  const file = String(params.file);
  // validateSpec made every path the user typed absolute and checked it.
  if (path.isAbsolute(file)) return path.dirname(file);
  const candidates = [...(source.folder ? [source.folder] : []), path.join(dataDir, asset.folder)];
  const found = candidates.find((folder) => isFile(path.join(folder, file)));
  if (found) return found;
  const looked = candidates.map((folder) => (folder === source.folder ? `${folder} (beside the spec)` : folder));
  throw new CliError(`${asset.what} file "${file}" not found: looked in ${looked.join(' and ')}`);
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}
