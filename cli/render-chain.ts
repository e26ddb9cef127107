import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Chain, type ChainEntry } from '../transforms/chain.js';
import { parseChainSpec, withDisclosure, type ChainSpec } from '../transforms/chain-spec.js';
import { createTransform } from '../transforms/transform-factory.js';
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

/** The server's rules, unchanged: the schema (defaults filled in), then the disclosure label. */
export function validateSpec(input: unknown, source: SpecSource): ValidatedSpec {
  const parsed = parseChainSpec(input);
  if (!parsed.ok) throw new CliError(`${source.description} is not a valid chain spec: ${parsed.error}`);
  return withDisclosure(parsed.spec);
}

/** Transforms whose `file` parameter names an asset, and the folder of LIVEFX_DATA_DIR it lives in. */
/**
 * Transforms' reports during a render. Offline, prepare() waits for what live streams cannot (e.g.
 * face-blur's detections), so only errors matter; the rest shows with LIVEFX_LOG_LEVEL=debug.
 */
const reportToStderr: TransformReport = (level, message) => {
  if (level === 'error' || process.env.LIVEFX_LOG_LEVEL === 'debug') process.stderr.write(`livefx render: ${message}\n`);
};

const ASSET_FOLDERS: Partial<Record<string, { folder: string; what: string }>> = {
  lut3d: { folder: 'luts', what: 'LUT' },
  image: { folder: 'images', what: 'image' },
};

/**
 * Builds the chain an offline render runs. Asset names are looked up beside the spec first, then in
 * LIVEFX_DATA_DIR; disabled transforms are left out since they change no pixel.
 */
export function buildRenderChain(spec: ChainSpec, source: SpecSource, dataDir: string): Chain {
  const entries: ChainEntry[] = [];
  try {
    spec.transforms.forEach((entry, index) => {
      if (!entry.enabled) return;
      const folder = findAssetFolder(entry.name, entry.params, source, dataDir);
      try {
        entries.push({ transform: createTransform(entry, { lutDir: folder, imageDir: folder }, reportToStderr), enabled: true });
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
  const candidates = [...(source.folder ? [source.folder] : []), path.join(dataDir, asset.folder)];
  const found = candidates.find((folder) => isFile(path.join(folder, file)));
  if (found) return found;
  const looked = candidates.map((folder) => (folder === source.folder ? `${folder} (beside the spec)` : folder));
  throw new CliError(`${asset.what} file "${file}" not found: looked in ${looked.join(' and ')}`);
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}
