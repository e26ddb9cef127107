import { portRangeBounds, type LivefxConfig } from '../core/config.js';
import type { LivefxDatabase } from '../core/database.js';
import type { Logger } from '../core/logger.js';
import type { JobQueue } from '../core/jobs/job-queue.js';
import { SqliteJobQueue } from '../core/jobs/sqlite-job-queue.js';
import { BullMqJobQueue } from '../core/jobs/bullmq-job-queue.js';
import type { AudienceBus } from '../core/audience-bus.js';
import { LocalAudienceBus } from '../core/local-audience-bus.js';
import type { StreamDirectory } from '../core/stream-directory.js';
import { LocalStreamDirectory } from '../core/local-stream-directory.js';
import type { RecordingCatalogStore } from '../recorder/recording-catalog.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import type { TokenStore } from './auth/token-store.js';
import { SqliteTokenStore } from './auth/sqlite-token-store.js';
import type { PresetStore } from './storage/preset-store.js';
import { SqlitePresetStore } from './storage/sqlite-preset-store.js';
import type { StoryboardStore } from '../studio/ports.js';
import { SqliteStoryboardStore } from '../studio/sqlite-storyboard-store.js';
import type { PostgresDatabase } from '../core/postgres-database.js';
import type { IdempotencyStore } from './storage/idempotency-store.js';
import { PostgresIdempotencyStore } from './storage/postgres-idempotency-store.js';
import { SqliteIdempotencyStore } from './storage/sqlite-idempotency-store.js';
import { PostgresRecordingCatalog } from '../recorder/postgres-recording-catalog.js';
import { PostgresTokenStore } from './auth/postgres-token-store.js';
import { PostgresPresetStore } from './storage/postgres-preset-store.js';
import { PostgresStoryboardStore } from '../studio/postgres-storyboard-store.js';
import type { Sfu } from './sfu/sfu.js';
import { WeriftSfu } from './sfu/werift-sfu.js';

/**
 * The swappable parts of a server: each is an interface a networked backend implements (mediasoup,
 * BullMQ, PostgreSQL, Redis). The server owns the parts it is given: its close() closes them.
 */
export interface LivefxParts {
  sfu: Sfu;
  /** Background jobs of every feature (highlights, reels, …). */
  jobQueue: JobQueue;
  /** Recordings, their segments and event logs. */
  catalog: RecordingCatalogStore;
  tokens: TokenStore;
  presets: PresetStore;
  /** Which node owns which live stream. */
  streamDirectory: StreamDirectory;
  /** Chat, reactions, moderation and viewer counts across nodes. */
  audienceBus: AudienceBus;
  /** The studio's storyboards. */
  storyboards: StoryboardStore;
  /** Idempotency-Keys of job POSTs. */
  idempotency: IdempotencyStore;
}

export interface DefaultPartsContext {
  config: LivefxConfig;
  log: Logger;
  /** livefx.db, open and migrated: the embedded parts keep their tables there. */
  database: LivefxDatabase;
  /** LIVEFX_DATABASE_URL's database, open and migrated: the catalog and stores live there instead (shared by every node). */
  shared?: PostgresDatabase | undefined;
}

/** The parts that hold shared state (the queue and the stores): all a `livefx worker` needs besides the files. */
export type StateParts = Pick<LivefxParts, 'jobQueue' | 'catalog' | 'tokens' | 'presets' | 'storyboards' | 'idempotency'>;

/**
 * The parts not `given`, chosen from the configuration: the embedded ones (werift, SQLite, in-process),
 * with the catalog and stores on PostgreSQL when LIVEFX_DATABASE_URL opened `shared`.
 */
export function defaultParts(context: DefaultPartsContext, given: Partial<LivefxParts> = {}): LivefxParts {
  const { config, log } = context;
  return {
    ...defaultStateParts(context, given, { work: config.LIVEFX_WORKERS === 'embedded' }),
    sfu: given.sfu ?? weriftSfu(config, log),
    streamDirectory: given.streamDirectory ?? new LocalStreamDirectory(),
    audienceBus: given.audienceBus ?? new LocalAudienceBus({ onListenerError: (error) => log.error({ err: error }, 'audience bus listener failed') }),
  };
}

/** The queue and stores not `given`; `jobs` says whether (and which kinds) this process works on. */
export function defaultStateParts(context: DefaultPartsContext, given: Partial<StateParts>, jobs: JobQueueRole): StateParts {
  const db = context.database.db;
  const shared = context.shared;
  return {
    jobQueue: given.jobQueue ?? defaultJobQueue(context, jobs),
    catalog: given.catalog ?? (shared ? new PostgresRecordingCatalog({ database: shared, nodeUrl: context.config.LIVEFX_NODE_URL }) : new SqliteRecordingCatalog({ db })),
    tokens: given.tokens ?? (shared ? new PostgresTokenStore({ database: shared }) : new SqliteTokenStore({ db })),
    presets: given.presets ?? (shared ? new PostgresPresetStore({ database: shared }) : new SqlitePresetStore({ db })),
    storyboards: given.storyboards ?? (shared ? new PostgresStoryboardStore({ database: shared }) : new SqliteStoryboardStore(db)),
    idempotency: given.idempotency ?? (shared ? new PostgresIdempotencyStore({ database: shared }) : new SqliteIdempotencyStore({ db })),
  };
}

export interface JobQueueRole {
  /** Runs jobs in this process (with Redis; the SQLite queue always does). */
  work: boolean;
  /** Only these kinds (`livefx worker --queues`). */
  workKinds?: readonly string[];
  /** Jobs of one kind at once; LIVEFX_HIGHLIGHT_CONCURRENCY by default. */
  concurrency?: number;
}

/**
 * The job queue the configuration asks for: BullMQ on LIVEFX_REDIS_URL (this process works on the jobs
 * when `work`), else the SQLite queue in livefx.db, which always works here.
 */
export function defaultJobQueue(context: DefaultPartsContext, options: JobQueueRole): JobQueue {
  const { config, log } = context;
  const concurrency = options.concurrency ?? config.LIVEFX_HIGHLIGHT_CONCURRENCY;
  if (config.LIVEFX_REDIS_URL) {
    return new BullMqJobQueue({
      url: config.LIVEFX_REDIS_URL,
      work: options.work,
      ...(options.workKinds ? { workKinds: options.workKinds } : {}),
      concurrency,
      attempts: config.LIVEFX_JOB_ATTEMPTS,
      lockMs: config.LIVEFX_JOB_LOCK_S * 1000,
      log,
    });
  }
  return new SqliteJobQueue({
    db: context.database.db,
    concurrency,
    onError: (error, job) => log.warn({ err: error, jobId: job.id, kind: job.kind }, 'job failed'),
  });
}

function weriftSfu(config: LivefxConfig, log: Logger): WeriftSfu {
  const portRange = portRangeBounds(config.LIVEFX_RTC_PORTS);
  return new WeriftSfu({
    iceHosts: ['127.0.0.1', ...config.LIVEFX_ICE_HOSTS.split(',').map((host) => host.trim()).filter(Boolean)],
    ...(portRange ? { portRange } : {}),
    maxPublishKbps: config.LIVEFX_MAX_PUBLISH_KBPS,
    log,
  });
}
