import { z } from 'zod';
import { colorParams } from './color.js';
import { faceBlurParams } from './face-blur.js';
import { grainParams } from './grain.js';
import { imageParams } from './image-overlay.js';
import { labelParams } from './label.js';
import { lut3dParams } from './lut3d.js';
import { pixelateParams } from './pixelate.js';
import { sketchParams } from './sketch.js';
import { subtitlesParams } from './subtitles/subtitles-transform.js';
import { textParams } from './text.js';
import { toonParams } from './toon.js';
import { vignetteParams } from './vignette.js';

/** Every transform an operator can put in a chain, with its parameter schema. */
export const transformParamSchemas = {
  color: colorParams,
  lut3d: lut3dParams,
  text: textParams,
  label: labelParams,
  image: imageParams,
  pixelate: pixelateParams,
  vignette: vignetteParams,
  grain: grainParams,
  toon: toonParams,
  sketch: sketchParams,
  'face-blur': faceBlurParams,
  subtitles: subtitlesParams,
} as const;

/** Transforms that make the picture synthetic: while one is on, the "AI-processed" label must be there. */
export const STYLIZATIONS: ReadonlySet<TransformName> = new Set<TransformName>(['pixelate', 'vignette', 'grain', 'toon', 'sketch']);

export type TransformName = keyof typeof transformParamSchemas;
export const transformNames = Object.keys(transformParamSchemas) as TransformName[];

export interface ChainSpecEntry {
  name: TransformName;
  enabled: boolean;
  params: Record<string, unknown>;
}

export interface ChainSpec {
  transforms: ChainSpecEntry[];
}

/** LUT and image files are names inside the server's folders for them, never paths. */
export const LUT_FILE_NAME = /^[\w][\w .-]{0,120}\.cube$/;
export const IMAGE_FILE_NAME = /^[\w][\w .-]{0,120}\.(png|jpe?g)$/i;

const entrySchema = z
  .object({
    name: z.enum(transformNames as [TransformName, ...TransformName[]]),
    enabled: z.boolean().default(true),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .superRefine((entry, context) => {
    const result = transformParamSchemas[entry.name].safeParse(entry.params);
    if (!result.success) {
      for (const issue of result.error.issues) context.addIssue({ code: 'custom', path: ['params', ...issue.path], message: issue.message });
      return;
    }
    if (entry.name === 'lut3d' && !LUT_FILE_NAME.test(String(entry.params.file))) {
      context.addIssue({ code: 'custom', path: ['params', 'file'], message: 'must be the name of a .cube file in the LUT folder (letters, digits, " ._-"; no paths)' });
    }
    if (entry.name === 'image' && !IMAGE_FILE_NAME.test(String(entry.params.file))) {
      context.addIssue({ code: 'custom', path: ['params', 'file'], message: 'must be the name of a .png or .jpg file in the images folder (letters, digits, " ._-"; no paths)' });
    }
  })
  .transform((entry) => ({ ...entry, params: transformParamSchemas[entry.name].parse(entry.params) as Record<string, unknown> }));

/** A chain spec as JSON: `{ "transforms": [ { "name", "enabled", "params" }, … ] }`, at most 16 transforms. */
export const chainSpecSchema = z.object({ transforms: z.array(entrySchema).max(16) }).strict();

/** Validates a spec; the error message names the bad field, e.g. `transforms.0.params.saturation: …`. */
export function parseChainSpec(input: unknown): { ok: true; spec: ChainSpec } | { ok: false; error: string } {
  const result = chainSpecSchema.safeParse(input);
  if (result.success) return { ok: true, spec: result.data };
  const issue = result.error.issues[0]!;
  return { ok: false, error: `${issue.path.join('.') || 'spec'}: ${issue.message}` };
}

/**
 * The disclosure rule: while a stylization is enabled the chain carries a `label`. An operator can
 * move it or switch it off (the caller logs that), but a spec without one gets it added back.
 */
export function withDisclosure(spec: ChainSpec): { spec: ChainSpec; labelAdded: boolean; labelOff: boolean } {
  const stylized = spec.transforms.some((entry) => entry.enabled && STYLIZATIONS.has(entry.name));
  if (!stylized) return { spec, labelAdded: false, labelOff: false };
  const label = spec.transforms.find((entry) => entry.name === 'label');
  if (label) return { spec, labelAdded: false, labelOff: !label.enabled };
  const added: ChainSpecEntry = { name: 'label', enabled: true, params: labelParams.parse({}) as Record<string, unknown> };
  return { spec: { transforms: [...spec.transforms, added] }, labelAdded: true, labelOff: false };
}
