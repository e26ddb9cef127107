import { ConfigError, loadConfig } from '../core/config.js';
import { LivefxServer } from './livefx-server.js';
import { LogDestination } from '../core/log-destination.js';
import { createLogger } from '../core/logger.js';
import { ShutdownDeadline } from './shutdown-deadline.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  // The log reader may be gone (EPIPE from a dead `tee` or collector): the server goes on without it.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`livefx: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Mesa's EGL (the software WebGPU adapter) reads this from the process's real environment, which stream workers cannot set.
  if (config.LIVEFX_TRANSFORM_BACKEND === 'webgpu') process.env.EGL_PLATFORM ??= 'surfaceless';
  const logDestination = new LogDestination({ fd: 1 });
  const log = createLogger(config.LIVEFX_LOG_LEVEL, logDestination);
  // The last log lines reach the reader before the process goes (at most 1 s: a slow reader must not hold it).
  const exit = (code: number): void => void logDestination.drain(1000).then(() => process.exit(code));
  // A finished drain stops the node as SIGTERM does (`stop`, defined below, is called long after this line).
  const server = new LivefxServer({ config, log, onDrained: () => stop('drained') });
  const { url, adminToken } = await server.start().catch((error: unknown) => {
    log.fatal({ err: error }, 'could not start');
    // Said plainly too (e.g. "cannot reach Redis at redis://… (LIVEFX_REDIS_URL)"), not only in the JSON log.
    process.stderr.write(`livefx: could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    exit(1);
    return new Promise<never>(() => undefined);
  });
  const adminLines = adminToken
    ? [
        '',
        '  ADMIN TOKEN (generated on this first start; shown only now, stored hashed):',
        `    ${adminToken}`,
        `  sign in:                ${url}/?token=${adminToken}`,
        '  lost it? `npx livefx admin-token --rotate` (on this data directory) makes a new one.',
      ]
    : [config.LIVEFX_ADMIN_TOKEN ? '  admin token:            LIVEFX_ADMIN_TOKEN' : '  admin token:            the one printed on the first start (`npx livefx admin-token --rotate` for a new one)'];
  process.stdout.write(
    [
      '',
      `livefx is running at ${url}`,
      ...adminLines,
      `  home (create a stream): ${url}/`,
      `  HTTP API:               ${url}/v1/streams`,
      `  metrics:                ${url}/metrics`,
      `  data directory:         ${config.LIVEFX_DATA_DIR}`,
      '',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const startedMs = Date.now();
    // The hard deadline comes first, so nothing after it (a log line included) can keep the process alive.
    new ShutdownDeadline({
      ms: SHUTDOWN_DEADLINE_MS,
      onExpired: () => log.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown took too long; exiting without finishing it'),
    });
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => {
        log.info({ ms: Date.now() - startedMs }, 'shut down');
        exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  // With other nodes (LIVEFX_REDIS_URL) the first SIGTERM drains: streams go on until they end or LIVEFX_DRAIN_DEADLINE_S; a second one stops at once.
  let drainSignals = 0;
  const onSignal = (signal: string): void => {
    if (server.clustered && drainSignals++ === 0) {
      log.info({ signal }, 'draining before shutting down (send it again to stop now)');
      void server.drain();
      return;
    }
    stop(signal);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
}

void main();
