import { LivefxDatabase } from '../core/database.js';
import { PostgresDatabase } from '../core/postgres-database.js';
import { createLogger } from '../core/logger.js';
import { ProvenanceKeyStore } from '../core/provenance/provenance-key-store.js';
import { ProvenanceSigner } from '../core/provenance/provenance-signer.js';
import { Recorder } from '../recorder/recorder.js';
import { openJobServices } from '../server/job-services.js';
import { defaultStateParts } from '../server/livefx-parts.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import type { CliCommand, CliContext, CliInvocation } from './cli-command.js';
import { readConfig } from './cli-config.js';
import { commandFromHelp } from './help-options.js';
import { CliError, UsageError } from './cli-errors.js';

/** Job kinds a worker can run (one BullMQ queue each). */
export const JOB_QUEUES = ['highlights', 'reel', 'render'] as const;

const HELP = `usage: livefx worker [--concurrency N] [--queues highlights,reel,render]

Runs highlights, reel and studio render jobs from the job queue on Redis (LIVEFX_REDIS_URL), with no
HTTP server: start as many as the backlog needs, on this machine or others. On the node's machine it
may share the node's $LIVEFX_DATA_DIR (livefx.db is in WAL mode, safe for several processes). With its
own data directory (another machine) it needs LIVEFX_DATABASE_URL and LIVEFX_INTERNAL_SECRET, the same
as the nodes, whose LIVEFX_NODE_URL it reaches: it downloads each job's media from the node that queued
it (cached in $LIVEFX_DATA_DIR/media-cache) and uploads the outputs there.

  -c, --concurrency <n>  jobs of each queue that run at once in this process (default $LIVEFX_HIGHLIGHT_CONCURRENCY, 1)
  -q, --queues <list>    which queues to work on, comma separated (default all: ${JOB_QUEUES.join(',')})
  -h, --help             this text

SIGTERM or Ctrl-C stops it: running jobs are aborted and go back to the queue for another worker.
A worker killed outright (kill -9) loses its locks after $LIVEFX_JOB_LOCK_S (6 s); its jobs then run
on another worker. Logs (pino JSON) go to stdout. Exit codes: 0 stopped, 1 could not start, 2 wrong command line.`;

export const workerCommand: CliCommand = commandFromHelp(HELP, runWorker, {
  summary: 'run queued highlights and render jobs (needs LIVEFX_REDIS_URL), no HTTP server',
});

/** A whole number flag within bounds, or the usage error naming it. */
export function integerOption(values: CliInvocation['values'], name: string, command: string, bounds: { min: number; max: number }): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(parsed) || parsed < bounds.min || parsed > bounds.max) {
    throw new UsageError(`--${name} needs a whole number from ${bounds.min} to ${bounds.max}, not "${String(value)}"`, command);
  }
  return parsed;
}

/** --queues as a list of known queues, or the usage error naming the unknown one. */
export function queuesOption(values: CliInvocation['values'], command: string): readonly string[] | undefined {
  if (typeof values.queues !== 'string') return undefined;
  const queues = values.queues.split(',').map((queue) => queue.trim()).filter(Boolean);
  const unknown = queues.filter((queue) => !(JOB_QUEUES as readonly string[]).includes(queue));
  if (queues.length === 0 || unknown.length > 0) throw new UsageError(`--queues: unknown queue "${unknown[0] ?? values.queues}" (known: ${JOB_QUEUES.join(', ')})`, command);
  return queues;
}

async function runWorker(invocation: CliInvocation, context: CliContext): Promise<number> {
  const concurrency = integerOption(invocation.values, 'concurrency', 'worker', { min: 1, max: 64 });
  const queues = queuesOption(invocation.values, 'worker');
  const config = readConfig(context.env);
  if (!config.LIVEFX_REDIS_URL) throw new CliError('livefx worker takes its jobs from Redis: set LIVEFX_REDIS_URL (the same as the nodes)');
  const log = createLogger(config.LIVEFX_LOG_LEVEL).child({ role: 'worker', pid: process.pid });
  const database = LivefxDatabase.open(config.LIVEFX_DATA_DIR, MIGRATIONS);
  // LIVEFX_DATABASE_URL: the same shared catalog and stores as the nodes.
  const shared = config.LIVEFX_DATABASE_URL ? await PostgresDatabase.open({ url: config.LIVEFX_DATABASE_URL, migrations: MIGRATIONS, log }).catch((error: unknown) => {
    database.close();
    throw new CliError(error instanceof Error ? error.message : String(error));
  }) : undefined;
  const parts = defaultStateParts({ config, log, database, shared }, {}, { work: true, ...(queues ? { workKinds: queues } : {}), ...(concurrency ? { concurrency } : {}) });
  // Reads recordings and exports them; recovery and retention stay with the node that records.
  const recorder = new Recorder({ catalog: parts.catalog, dataDir: config.LIVEFX_DATA_DIR, segmentS: config.LIVEFX_RECORD_SEGMENT_S, ffmpeg: config.LIVEFX_FFMPEG, ffprobe: config.LIVEFX_FFPROBE, log });
  const signer = new ProvenanceSigner({ keys: new ProvenanceKeyStore({ dir: ProvenanceKeyStore.dirIn(config.LIVEFX_DATA_DIR) }) });
  const services = openJobServices({ config, log, jobQueue: parts.jobQueue, recorder, presets: parts.presets, storyboards: parts.storyboards, signer });
  const stopped = new Promise<string>((resolve) => {
    context.signal.addEventListener('abort', () => resolve('SIGINT'), { once: true });
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  try {
    await services.highlights.start();
  } catch (error) {
    await parts.jobQueue.close();
    await recorder.close();
    database.close();
    await shared?.close();
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
  log.info({ queues: queues ?? JOB_QUEUES, concurrency: concurrency ?? config.LIVEFX_HIGHLIGHT_CONCURRENCY }, 'worker ready');
  const signal = await stopped;
  log.info({ signal }, 'worker stopping: running jobs go back to the queue');
  await parts.jobQueue.close();
  await recorder.close();
  database.close();
  await shared?.close();
  log.info('worker stopped');
  return 0;
}
