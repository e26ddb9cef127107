import path from 'node:path';
import { MediaToken } from '../core/cluster-media/media-token.js';
import { RemoteMedia } from '../core/cluster-media/remote-media.js';
import type { LivefxConfig } from '../core/config.js';
import type { JobQueue } from '../core/jobs/job-queue.js';
import type { Logger } from '../core/logger.js';
import type { ProvenanceSigner } from '../core/provenance/provenance-signer.js';
import { RecordingTranscriber } from '../highlights/analysis/recording-transcriber.js';
import { HighlightService } from '../highlights/highlight-service.js';
import type { Recorder } from '../recorder/recorder.js';
import { Planner } from '../studio/planner.js';
import type { StoryboardStore } from '../studio/ports.js';
import { RenderService } from '../studio/render-service.js';
import { StudioSources } from '../studio/studio-sources.js';
import { TemplateFolder } from '../studio/template-folder.js';
import type { PresetStore } from './storage/preset-store.js';

export interface JobServicesContext {
  config: LivefxConfig;
  log: Logger;
  jobQueue: JobQueue;
  recorder: Recorder;
  presets: PresetStore;
  storyboards: StoryboardStore;
  signer: ProvenanceSigner;
}

/** The features that run jobs, wired to one queue. */
export interface JobServices {
  highlights: HighlightService;
  renders: RenderService;
  studioSources: StudioSources;
  templates: TemplateFolder;
  planner: Planner;
  /** Signs and checks media tokens between nodes and workers (LIVEFX_INTERNAL_SECRET); none: jobs read this data directory only. */
  mediaToken: MediaToken | undefined;
  /** Reads media from and relays outputs of other nodes (with mediaToken). */
  remote: RemoteMedia | undefined;
}

/**
 * Builds the highlights and studio render services on a job queue, registering their job kinds: the
 * server and `livefx worker` build them the same way, so a job runs the same wherever it lands.
 */
export function openJobServices(context: JobServicesContext): JobServices {
  const { config, log, recorder, presets } = context;
  // One transcript per recording, made once when it has none (imports): highlights and the studio read the same words.
  const transcriber = RecordingTranscriber.forRecorder({ recorder, config, log });
  // Media between machines: jobs enqueued here name this node (LIVEFX_NODE_URL); jobs from other nodes read from and publish to theirs.
  const mediaToken = config.LIVEFX_INTERNAL_SECRET ? new MediaToken({ secret: config.LIVEFX_INTERNAL_SECRET }) : undefined;
  const remote = mediaToken
    ? new RemoteMedia({ token: mediaToken, cacheDir: path.join(config.LIVEFX_DATA_DIR, 'media-cache'), selfUrl: config.LIVEFX_NODE_URL, retryS: config.LIVEFX_MEDIA_RETRY_S, cacheMaxBytes: config.LIVEFX_MEDIA_CACHE_MB * 2 ** 20, log })
    : undefined;
  const cluster = { origin: mediaToken ? config.LIVEFX_NODE_URL : undefined, remote };
  const highlights = new HighlightService({
    recorder,
    dataDir: config.LIVEFX_DATA_DIR,
    ffmpeg: config.LIVEFX_FFMPEG,
    ffprobe: config.LIVEFX_FFPROBE,
    jobQueue: context.jobQueue,
    stallS: config.LIVEFX_HIGHLIGHT_STALL_S,
    signer: context.signer,
    transcriber,
    ...cluster,
    log,
  });
  const studioSources = new StudioSources({ recorder, imagesDir: path.join(config.LIVEFX_DATA_DIR, 'images'), ffmpeg: config.LIVEFX_FFMPEG, ffprobe: config.LIVEFX_FFPROBE, transcriber });
  const presetNames = async (): Promise<string[]> => (await presets.list()).map((preset) => preset.name);
  const templates = new TemplateFolder({ dir: path.join(config.LIVEFX_DATA_DIR, 'templates'), maxBytes: config.LIVEFX_TEMPLATE_MAX_KB * 1024, sources: studioSources, presetNames });
  const planner = new Planner({ sources: studioSources, presetNames, templateHints: (name) => templates.hints(name) });
  templates.attachPlanner(planner);
  const renders = new RenderService({
    jobQueue: context.jobQueue,
    dataDir: config.LIVEFX_DATA_DIR,
    ffmpeg: config.LIVEFX_FFMPEG,
    ffprobe: config.LIVEFX_FFPROBE,
    recordings: recorder,
    storyboards: context.storyboards,
    templates,
    signer: context.signer,
    presetSpec: async (name) => (await presets.get(name))?.spec,
    cacheMaxBytes: config.LIVEFX_STUDIO_CACHE_MB * 2 ** 20,
    minFreeBytes: config.LIVEFX_STUDIO_MIN_FREE_MB * 2 ** 20,
    stallS: config.LIVEFX_HIGHLIGHT_STALL_S,
    ...cluster,
    transformBackend: config.LIVEFX_TRANSFORM_BACKEND,
    log,
  });
  return { highlights, renders, studioSources, templates, planner, mediaToken, remote };
}
