import { z } from 'zod';

/** The body of POST /v1/video/highlights: everything but recording_id has the issue's defaults. */
export const highlightRequestSchema = z
  .object({
    recording_id: z.string().min(1, 'is required'),
    strategy: z.enum(['engagement_topk', 'keywords']).default('engagement_topk'),
    k: z.number().int().min(1).max(50).default(5),
    min_clip_s: z.number().min(1).max(600).default(10),
    max_clip_s: z.number().min(1).max(600).default(45),
    remove_dead_air: z.boolean().default(true),
    captions: z.enum(['burn', 'sidecar', 'none']).default('sidecar'),
    chapters: z.boolean().default(true),
    quality: z.enum(['preview', 'final']).default('preview'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
    keywords: z.array(z.string().trim().min(1, 'a keyword must not be empty').max(100)).min(1).max(50).optional(),
  })
  .strict()
  .superRefine((value, context) => {
    if (value.min_clip_s > value.max_clip_s) context.addIssue({ code: 'custom', path: ['max_clip_s'], message: `must be at least min_clip_s (${value.min_clip_s})` });
    if (value.strategy === 'keywords' && !value.keywords) context.addIssue({ code: 'custom', path: ['keywords'], message: 'the keywords strategy needs a list of keywords' });
  });

export type HighlightRequest = z.infer<typeof highlightRequestSchema>;
/** The parameters a strategy sees (the request without the recording). */
export type HighlightParams = Omit<HighlightRequest, 'recording_id'>;
