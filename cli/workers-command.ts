import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BullMqJobQueue } from '../core/jobs/bullmq-job-queue.js';
import { createLogger } from '../core/logger.js';
import type { CliCommand, CliContext, CliInvocation } from './cli-command.js';
import { readConfig } from './cli-config.js';
import { commandFromHelp } from './help-options.js';
import { CliError, UsageError } from './cli-errors.js';
import { integerOption, JOB_QUEUES, queuesOption } from './worker-command.js';
import { WorkerPool } from './worker-pool.js';

const HELP = `usage: livefx workers --min 1 --max N [--jobs-per-worker J] [--max-wait-s S] [--idle-grace-s G]
                      [--concurrency C] [--queues highlights,reel,render]

Supervises \`livefx worker\` processes on this machine, scaled with the job queue on Redis
(LIVEFX_REDIS_URL): starts one when (waiting + running jobs) per worker passes J or the oldest waiting
job has waited S seconds, and stops the newest once the backlog has needed fewer workers for G seconds.
Each decision is one log line (pino JSON on stdout) with its reason; a worker that crashes is restarted.

      --min <n>              workers always running (default 1)
      --max <n>              most workers (default 4)
      --jobs-per-worker <j>  backlog one worker carries before another starts (default: --concurrency)
      --max-wait-s <s>       oldest waiting job age that starts another worker (default 30)
      --idle-grace-s <g>     how long the backlog must stay low before a worker stops (default 60)
  -c, --concurrency <c>      passed to each worker (default $LIVEFX_HIGHLIGHT_CONCURRENCY)
  -q, --queues <list>        passed to each worker (default all: ${JOB_QUEUES.join(',')})
  -h, --help                 this text

SIGTERM or Ctrl-C stops every worker (their running jobs go back to the queue). Exit codes: 0 stopped,
1 could not start (e.g. Redis unreachable), 2 wrong command line.`;

export const workersCommand: CliCommand = commandFromHelp(HELP, runWorkers, {
  summary: 'run between --min and --max workers on this machine, scaled with the job backlog',
});

/** bin/livefx.js from dist/cli/. */
const livefxBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'livefx.js');

async function runWorkers(invocation: CliInvocation, context: CliContext): Promise<number> {
  const { values } = invocation;
  const min = integerOption(values, 'min', 'workers', { min: 0, max: 256 }) ?? 1;
  const max = integerOption(values, 'max', 'workers', { min: 1, max: 256 }) ?? Math.max(4, min);
  if (max < min) throw new UsageError(`--max ${max} is below --min ${min}`, 'workers');
  const concurrency = integerOption(values, 'concurrency', 'workers', { min: 1, max: 64 });
  const jobsPerWorker = integerOption(values, 'jobs-per-worker', 'workers', { min: 1, max: 1024 });
  const maxWaitS = integerOption(values, 'max-wait-s', 'workers', { min: 1, max: 86_400 }) ?? 30;
  const idleGraceS = integerOption(values, 'idle-grace-s', 'workers', { min: 0, max: 86_400 }) ?? 60;
  const config = readConfig(context.env);
  if (!config.LIVEFX_REDIS_URL) throw new CliError('livefx workers scales with the job queue on Redis: set LIVEFX_REDIS_URL (the same as the nodes)');
  const log = createLogger(config.LIVEFX_LOG_LEVEL).child({ role: 'workers' });
  const chosen = queuesOption(values, 'workers');
  const queues = chosen ?? JOB_QUEUES;
  const workerArgs = ['worker', ...(concurrency ? ['--concurrency', String(concurrency)] : []), ...(chosen ? ['--queues', chosen.join(',')] : [])];
  const observer = BullMqJobQueue.observer({ url: config.LIVEFX_REDIS_URL, lockMs: config.LIVEFX_JOB_LOCK_S * 1000, log }, queues);
  try {
    await observer.start();
  } catch (error) {
    await observer.close();
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
  const pool = new WorkerPool({
    min,
    max,
    jobsPerWorker: jobsPerWorker ?? concurrency ?? config.LIVEFX_HIGHLIGHT_CONCURRENCY,
    maxWaitS,
    idleGraceS,
    command: process.execPath,
    args: [livefxBin, ...workerArgs],
    stats: () => observer.stats(config.LIVEFX_JOB_DEADLINE_S),
    output: context.stdout,
    log,
  });
  const stopped = new Promise<string>((resolve) => {
    context.signal.addEventListener('abort', () => resolve('SIGINT'), { once: true });
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info({ min, max, jobsPerWorker: jobsPerWorker ?? concurrency ?? config.LIVEFX_HIGHLIGHT_CONCURRENCY, maxWaitS, idleGraceS, queues }, 'workers supervisor ready');
  pool.start();
  const signal = await stopped;
  log.info({ signal, workers: pool.size }, 'stopping every worker');
  await pool.close();
  await observer.close();
  return 0;
}
