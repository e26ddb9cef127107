import { z } from 'zod';
import { ASPECTS } from './storyboard.js';

// The template file format: a storyboard skeleton whose strings may hold {{field}} merge fields. A
// value that is exactly "{{field}}" takes the field's typed value (a number for a duration); inside
// longer text it is written in as text.

export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
export const FIELD_NAME = /^[a-z_][a-z0-9_]{0,39}$/i;
export const MERGE_FIELD = /\{\{\s*([a-z_][a-z0-9_]{0,39})\s*\}\}/gi;
export const FIELD_TYPES = ['text', 'color', 'asset', 'recording', 'duration', 'number', 'boolean'] as const;
/** Merge keys every template takes without declaring them: a variant in another aspect ratio or look. */
export const RESERVED_MERGE_KEYS = ['aspect', 'style'] as const;

const fieldSchema = z
  .object({
    name: z.string().regex(FIELD_NAME, 'a field name is letters, digits and _ (up to 40), starting with a letter or _'),
    type: z.enum(FIELD_TYPES),
    required: z.boolean().default(false),
    default: z.unknown().optional(),
    description: z.string().max(300).optional(),
  })
  .strict();

const shotTemplateSchema = z
  .object({
    kind: z.string().max(100),
    duration: z.union([z.number(), z.string().max(100)]),
    /** `"auto"`: a clip chosen by the planner from the sources for the template's prompt. */
    source: z.union([z.literal('auto'), z.record(z.string(), z.unknown())]).optional(),
    text: z.string().max(1000).optional(),
    color: z.string().max(100).optional(),
    camera: z.string().max(100).optional(),
    transition: z.record(z.string(), z.unknown()).optional(),
    reasons: z.array(z.string().max(300)).max(20).optional(),
    /** The shot is left out when this merge value is empty or false (e.g. "{{logo}}" for an optional logo). */
    when: z.string().max(100).optional(),
  })
  .strict();

export const templateDocumentSchema = z
  .object({
    name: z.string().regex(TEMPLATE_NAME, 'a template name is letters, digits and "._-" (up to 64), starting with a letter or digit'),
    description: z.string().max(500).default(''),
    /** What the planner looks for in the sources for `"auto"` clips; may hold merge fields. */
    prompt: z.string().min(1).max(2000),
    duration_s: z.number().min(5).max(180),
    aspect: z.enum(ASPECTS),
    style: z.string().min(1).max(100).default('clean'),
    captions: z.boolean().default(true),
    music: z.record(z.string(), z.unknown()).optional(),
    voiceover: z.record(z.string(), z.unknown()).optional(),
    fields: z.array(fieldSchema).max(50).default([]),
    shots: z.array(shotTemplateSchema).min(1).max(20),
  })
  .strict();

export type TemplateDocument = z.infer<typeof templateDocumentSchema>;
export type TemplateFieldSpec = TemplateDocument['fields'][number];

/** Every {{field}} a value mentions. */
export function mergeFieldsIn(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') for (const match of value.matchAll(MERGE_FIELD)) into.add(match[1]!);
  else if (Array.isArray(value)) for (const item of value) mergeFieldsIn(item, into);
  else if (value && typeof value === 'object') for (const item of Object.values(value)) mergeFieldsIn(item, into);
  return into;
}

/** The value with its merge fields filled: a whole-string "{{field}}" becomes the value itself, others are written in. */
export function fillMergeFields(value: unknown, values: ReadonlyMap<string, unknown>): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([a-z_][a-z0-9_]{0,39})\s*\}\}$/i.exec(value);
    if (whole) return values.get(whole[1]!);
    return value.replace(MERGE_FIELD, (_match, name: string) => {
      const filled = values.get(name);
      return filled === undefined || filled === null ? '' : String(filled);
    });
  }
  if (Array.isArray(value)) return value.map((item) => fillMergeFields(item, values));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fillMergeFields(item, values)]));
  return value;
}
