import { z } from 'zod';

// The storyboard: what the planner makes of a prompt and what the compositor renders. Field names are
// the API contract of POST /v1/video/storyboards (issue 14): extend, never rename.

export const LOOKS = ['clean', 'warm', 'cinematic', 'vivid', 'mono'] as const;
export const ASPECTS = ['16:9', '9:16', '1:1'] as const;
export const CAMERA_MOVES = ['static', 'push-in', 'pull-out', 'pan-left', 'pan-right', 'follow-face'] as const;
export const TRANSITIONS = ['cut', 'fade', 'wipe', 'slide', 'zoom'] as const;
export const SHOT_KINDS = ['clip', 'image', 'title'] as const;

export type Aspect = (typeof ASPECTS)[number];
export type CameraMove = (typeof CAMERA_MOVES)[number];

const seconds = z.number().finite().min(0);
const id = z.string().min(1).max(200);

export const shotSourceSchema = z.union([
  z.object({ recording_id: id, in: seconds, out: seconds }).strict().refine((source) => source.out > source.in, { message: 'out must be after in', path: ['out'] }),
  z.object({ asset_id: id }).strict(),
]);

export const shotSchema = z
  .object({
    index: z.number().int().min(0),
    /** Seconds from the start of the video. */
    start: seconds,
    duration: z.number().finite().min(0.2).max(180),
    kind: z.enum(SHOT_KINDS),
    source: shotSourceSchema.optional(),
    text: z.string().max(500).optional(),
    /** A title card's background (or a text's accent) as #rrggbb; templates fill it from a colour merge field. */
    color: z.string().regex(/^#[0-9a-f]{6}$/i, 'must be a colour written #rrggbb').optional(),
    camera: z.enum(CAMERA_MOVES).optional(),
    /** Into this shot from the one before (ignored on the first shot). */
    transition: z.object({ name: z.enum(TRANSITIONS), duration: z.number().finite().min(0).max(3) }).strict().optional(),
    /** Why the planner chose it ("chat from 23 people", "transcript: 'weekend plans'", "scene 5"). */
    reasons: z.array(z.string().max(300)).max(20).default([]),
  })
  .strict()
  .superRefine((shot, context) => {
    if (shot.kind === 'clip' && !(shot.source && 'recording_id' in shot.source)) context.addIssue({ code: 'custom', path: ['source'], message: 'a clip shot needs a source { recording_id, in, out }' });
    if (shot.kind === 'image' && !(shot.source && 'asset_id' in shot.source)) context.addIssue({ code: 'custom', path: ['source'], message: 'an image shot needs a source { asset_id }' });
    if (shot.kind === 'title' && !shot.text) context.addIssue({ code: 'custom', path: ['text'], message: 'a title shot needs a text' });
  });

export const musicSchema = z.object({ track: z.string().min(1).max(200), gain_db: z.number().min(-40).max(6).default(-18), duck: z.boolean().default(true) }).strict();
export const voiceoverSchema = z.object({ text: z.string().min(1).max(5000), voice: z.string().min(1).max(100).default('default') }).strict();

/** Everything of a storyboard a client may set (PATCH replaces any of these; the whole is validated again). */
export const storyboardBodySchema = z
  .object({
    prompt: z.string().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'),
    /** A named look (LOOKS) or a stored preset's name. */
    style: z.string().min(1).max(100),
    aspect: z.enum(ASPECTS),
    duration_s: z.number().finite().min(5).max(180),
    seed: z.number().int().min(0).max(2 ** 31 - 1),
    shots: z.array(shotSchema).min(1).max(20),
    music: musicSchema.optional(),
    voiceover: voiceoverSchema.optional(),
    captions: z.boolean(),
    template: z.string().min(1).max(100).optional(),
  })
  .strict();

export type StoryboardBody = z.infer<typeof storyboardBodySchema>;
export type Shot = z.infer<typeof shotSchema>;
export type ShotSource = z.infer<typeof shotSourceSchema>;

/** A stored storyboard as the API returns it. */
export interface Storyboard extends StoryboardBody {
  id: string;
  provenance: StoryboardProvenance;
  created_at: string;
  updated_at: string;
}

/** Where a storyboard came from: enough to plan it again and get the same shots. */
export interface StoryboardProvenance {
  planner: string;
  prompt: string;
  seed: number;
  template?: string;
  sources: { recording_id: string; title?: string }[];
  asset_ids: string[];
  planned_at: string;
  [key: string]: unknown;
}

/** The body of POST /v1/video/storyboards: only the prompt is required. */
export const storyboardRequestSchema = z
  .object({
    prompt: z.string().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'),
    style: z.string().min(1).max(100).optional(),
    shots: z.number().int().min(1).max(20).optional(),
    duration_s: z.number().finite().min(5).max(180).optional(),
    aspect: z.enum(ASPECTS).optional(),
    sources: z.object({ recording_ids: z.array(id).max(50).optional(), asset_ids: z.array(id).max(50).optional() }).strict().optional(),
    template: z.string().min(1).max(100).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  })
  .strict();

export type StoryboardRequest = z.infer<typeof storyboardRequestSchema>;

/** The body of POST /v1/video/renders. */
export const renderRequestSchema = z.union([
  z.object({ storyboard_id: id, quality: z.enum(['preview', 'high']).default('preview'), seed: z.number().int().min(0).max(2 ** 31 - 1).optional() }).strict(),
  z
    .object({
      template: z.string().min(1).max(100),
      merge: z.record(z.string(), z.unknown()).default({}),
      sources: z.object({ recording_ids: z.array(id).max(50).optional(), asset_ids: z.array(id).max(50).optional() }).strict().optional(),
      quality: z.enum(['preview', 'high']).default('preview'),
      seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    })
    .strict(),
]);

export type RenderRequest = z.infer<typeof renderRequestSchema>;

/** GET /v1/video/renders/:id → result. */
export interface RenderResult {
  file: string;
  duration: number;
  width: number;
  height: number;
  thumbnail: string;
  captions: string | null;
  shots: { index: number; cached: boolean; ms: number }[];
  provenance: Record<string, unknown>;
}

/** Output size of a render: preview ≤ 640 px on the long side at 15 fps; high 1920×1080 / 1080×1920 / 1080×1080 at 30 fps. */
export function outputSize(aspect: Aspect, quality: 'preview' | 'high'): { width: number; height: number; fps: number } {
  const high = { '16:9': { width: 1920, height: 1080 }, '9:16': { width: 1080, height: 1920 }, '1:1': { width: 1080, height: 1080 } }[aspect];
  if (quality === 'high') return { ...high, fps: 30 };
  const preview = { '16:9': { width: 640, height: 360 }, '9:16': { width: 360, height: 640 }, '1:1': { width: 640, height: 640 } }[aspect];
  return { ...preview, fps: 15 };
}
