import path from 'node:path';
import { pino } from 'pino';
import type { LivefxConfig } from '../core/config.js';
import { LivefxDatabase } from '../core/database.js';
import type { Logger } from '../core/logger.js';
import { ProvenanceKeyStore } from '../core/provenance/provenance-key-store.js';
import { ProvenanceSigner } from '../core/provenance/provenance-signer.js';
import { RecordingTranscriber } from '../highlights/analysis/recording-transcriber.js';
import { Recorder } from '../recorder/recorder.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import type { PresetStore } from '../server/storage/preset-store.js';
import { SqlitePresetStore } from '../server/storage/sqlite-preset-store.js';
import { Planner } from '../studio/planner.js';
import { SqliteStoryboardStore } from '../studio/sqlite-storyboard-store.js';
import { StudioSources } from '../studio/studio-sources.js';
import { TemplateFolder } from '../studio/template-folder.js';
import { requireLocalStore } from './cli-config.js';

/** The studio on a data directory, without a server: what `livefx storyboard` and `livefx render-video` use locally. */
export interface LocalStudio {
  database: LivefxDatabase;
  log: Logger;
  recorder: Recorder;
  presets: PresetStore;
  storyboards: SqliteStoryboardStore;
  templates: TemplateFolder;
  planner: Planner;
  /** Signs outputs with the data directory's provenance key, as the server does. */
  signer: ProvenanceSigner;
  /** Finishes the recorder, then closes the database. */
  close(): Promise<void>;
}

export function openLocalStudio(config: LivefxConfig): LocalStudio {
  requireLocalStore(config, 'storyboard / render-video');
  const database = LivefxDatabase.open(config.LIVEFX_DATA_DIR, MIGRATIONS);
  const log = pino({ level: 'silent' });
  const recorder = new Recorder({ catalog: new SqliteRecordingCatalog({ db: database.db }), dataDir: config.LIVEFX_DATA_DIR, segmentS: config.LIVEFX_RECORD_SEGMENT_S, ffmpeg: config.LIVEFX_FFMPEG, ffprobe: config.LIVEFX_FFPROBE, log });
  const transcriber = RecordingTranscriber.forRecorder({ recorder, config, log });
  const sources = new StudioSources({ recorder, imagesDir: path.join(config.LIVEFX_DATA_DIR, 'images'), ffmpeg: config.LIVEFX_FFMPEG, ffprobe: config.LIVEFX_FFPROBE, transcriber });
  const presets = new SqlitePresetStore({ db: database.db });
  const presetNames = async (): Promise<string[]> => (await presets.list()).map((preset) => preset.name);
  const templates = new TemplateFolder({ dir: path.join(config.LIVEFX_DATA_DIR, 'templates'), maxBytes: config.LIVEFX_TEMPLATE_MAX_KB * 1024, sources, presetNames });
  const planner = new Planner({ sources, presetNames, templateHints: (name) => templates.hints(name) });
  templates.attachPlanner(planner);
  return {
    database,
    log,
    recorder,
    presets,
    storyboards: new SqliteStoryboardStore(database.db),
    templates,
    planner,
    signer: new ProvenanceSigner({ keys: new ProvenanceKeyStore({ dir: ProvenanceKeyStore.dirIn(config.LIVEFX_DATA_DIR) }) }),
    close: async () => {
      await recorder.close();
      database.close();
    },
  };
}
