import { ConfigError, loadConfig } from '../core/config.js';
import { LivefxServer } from './livefx-server.js';
import { createLogger } from '../core/logger.js';
import { LivefxError } from '../core/errors.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
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
  const log = createLogger(config.LIVEFX_LOG_LEVEL);
  const server = new LivefxServer({ config, log });
  const { url, adminToken } = await server.start().catch((error: unknown) => {
    log.fatal({ err: error }, 'could not start');
    // Said plainly too (e.g. "cannot reach Redis at redis://… (LIVEFX_REDIS_URL)"), not only in the JSON log.
    process.stderr.write(`livefx: could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
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
    log.info({ signal }, 'shutting down');
    // A hard deadline: whatever hangs, the process goes (exit code 1, said in the log).
    const deadline = setTimeout(() => {
      log.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown took too long; exiting without finishing it');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    server.close().then(
      () => {
        log.info({ ms: Date.now() - startedMs }, 'shut down');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
}

void main();
