import { parseChainSpec, STYLIZATIONS, withDisclosure, type ChainSpec } from '../transforms/chain-spec.js';
import type { LookFolders } from './look-files.js';
import { LOOKS } from './storyboard.js';

export type LookName = (typeof LOOKS)[number];

// The named looks are chain specs of the live transforms: a look applied offline runs the same kernels
// with the same parameters as the same spec on a live stream, so it looks the same in both places.
const NAMED_LOOKS: Record<LookName, ChainSpec> = {
  clean: { transforms: [] },
  warm: { transforms: [{ name: 'color', enabled: true, params: { temperature: 0.35, saturation: 1.1, contrast: 1.05 } }] },
  cinematic: {
    transforms: [
      { name: 'color', enabled: true, params: { contrast: 1.15, saturation: 0.85, temperature: -0.1, tint: 0.05, gamma: 0.95 } },
      { name: 'vignette', enabled: true, params: { strength: 0.45, radius: 0.7 } },
    ],
  },
  vivid: { transforms: [{ name: 'color', enabled: true, params: { saturation: 1.45, contrast: 1.1 } }] },
  mono: { transforms: [{ name: 'color', enabled: true, params: { saturation: 0, contrast: 1.1 } }] },
};

/** The disclosure label a stylized look carries in studio outputs. */
export const AI_EDITED_LABEL = 'AI-edited';

export interface ResolvedLook {
  /** The style as the storyboard names it. */
  name: string;
  /** Validated spec with defaults filled in, the disclosure label included when the look stylizes. */
  spec: ChainSpec;
  /** A stylization (vignette, toon, …) is on: the output is labelled "AI-edited". */
  stylized: boolean;
  /** Where a render reads the LUT and image files the look names (set by the render service; default: the compositor's folders). */
  files?: LookFolders;
}

export class LookNotFoundError extends Error {
  override readonly name = 'LookNotFoundError';
}

/**
 * Resolves a storyboard's style: a named look, else a stored preset's chain (looked up through
 * `presetSpec`, which the shell supplies). `aiLabel: false` leaves the label off a stylized look.
 */
export function resolveLook(style: string, presetSpec: (name: string) => unknown, options: { aiLabel?: boolean } = {}): ResolvedLook {
  const raw: unknown = (NAMED_LOOKS as Record<string, ChainSpec>)[style] ?? presetSpec(style);
  if (raw === undefined) throw new LookNotFoundError(`style "${style}" is neither a named look (${LOOKS.join(', ')}) nor a stored preset`);
  const parsed = parseChainSpec(raw);
  if (!parsed.ok) throw new LookNotFoundError(`style "${style}" is not a valid chain: ${parsed.error}`);
  const stylized = parsed.spec.transforms.some((entry) => entry.enabled && STYLIZATIONS.has(entry.name));
  if (!stylized || options.aiLabel === false) return { name: style, spec: parsed.spec, stylized };
  const labelled = withDisclosure(parsed.spec).spec;
  // The studio's wording: the label says the video was edited, not processed live.
  const spec = { transforms: labelled.transforms.map((entry) => (entry.name === 'label' && entry.params.text === 'AI-processed' ? { ...entry, params: { ...entry.params, text: AI_EDITED_LABEL } } : entry)) };
  return { name: style, spec, stylized };
}

/** Whether a look changes pixels at all (the clean look skips the chain pass). */
export function lookChangesPixels(look: ResolvedLook): boolean {
  return look.spec.transforms.some((entry) => entry.enabled);
}

/** Transforms whose output pixel depends only on the same input pixel, so they commute with scaling and cropping. */
const PER_PIXEL: ReadonlySet<string> = new Set(['color', 'lut3d']);

/** Whether every enabled transform of a look is per-pixel (it may then run before the camera move, on fewer pixels). */
export function lookIsPerPixel(look: ResolvedLook): boolean {
  return look.spec.transforms.every((entry) => !entry.enabled || PER_PIXEL.has(entry.name));
}
