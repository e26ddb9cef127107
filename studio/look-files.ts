import type { ChainSpec } from '../transforms/chain-spec.js';

/** A data-directory folder a look's transform reads a file from by name. */
export type LookFileArea = 'luts' | 'images';

/** One file a look names: a `.cube` of a lut3d transform or a picture of an image overlay. */
export interface LookFileName {
  area: LookFileArea;
  name: string;
}

/** Where a render's look pass finds its files, and which version of each it read (part of the shot cache key). */
export interface LookFolders {
  lutDir: string;
  imageDir: string;
  /** `luts/<name>` → content hash, for every file the look names. */
  versions: Record<string, string>;
}

/** The files the enabled transforms of a look read by name, each once, in chain order. */
export function lookFileNames(spec: ChainSpec): LookFileName[] {
  const names = new Map<string, LookFileName>();
  for (const entry of spec.transforms) {
    if (!entry.enabled) continue;
    const area: LookFileArea | undefined = entry.name === 'lut3d' ? 'luts' : entry.name === 'image' ? 'images' : undefined;
    const file = entry.params.file;
    if (area && typeof file === 'string') names.set(`${area}/${file}`, { area, name: file });
  }
  return [...names.values()];
}
