import { z } from 'zod';
import { colorParams } from './color.js';
import { imageParams } from './image-overlay.js';
import { labelParams } from './label.js';
import { lut3dParams } from './lut3d.js';
import { textParams } from './text.js';

/** Every transform an operator can put in a chain, with its parameter schema. */
export const transformParamSchemas = {
  color: colorParams,
  lut3d: lut3dParams,
  text: textParams,
  label: labelParams,
  image: imageParams,
} as const;

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
