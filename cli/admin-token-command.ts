import { SqliteTokenStore } from '../server/auth/sqlite-token-store.js';
import { LivefxDatabase } from '../core/database.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import path from 'node:path';
import type { CliContext, CliInvocation } from './cli-command.js';
import { commandFromHelp } from './help-options.js';
import { readConfig } from './cli-config.js';
import { CliError, UsageError } from './cli-errors.js';
import { pino } from 'pino';
import { LivefxError } from '../core/errors.js';
import { PostgresDatabase } from '../core/postgres-database.js';
import { PostgresTokenStore } from '../server/auth/postgres-token-store.js';

const HELP = `usage: livefx admin-token --rotate

Makes a new admin token for the server whose data directory is LIVEFX_DATA_DIR and prints it once.
Every admin token stored before (the one printed on the first start included) is revoked at once;
a running server refuses them from its next request and disconnects their sockets within 5 s.
Tokens are stored hashed, so a lost one cannot be shown again: this is how to get a new one.
It works on the data directory directly (whoever can read it is admin anyway), with or without the
server running. LIVEFX_ADMIN_TOKEN, when the server is configured with it, is not affected.
With LIVEFX_DATABASE_URL set, it works on that PostgreSQL database instead: the new token is the
admin token of every node using it.

  --rotate     revoke the stored admin tokens and print a new one
  -h, --help   this text

Exit codes: 0 done, 1 failed (the message says why), 2 wrong command line.`;

export const adminTokenCommand = commandFromHelp(HELP, runAdminToken, {
  summary: 'make a new admin token (revoking the stored ones) on LIVEFX_DATA_DIR',
});

async function runAdminToken(invocation: CliInvocation, context: CliContext): Promise<number> {
  if (invocation.values.rotate !== true) throw new UsageError('say --rotate: the stored admin token cannot be shown (only its hash is kept), only replaced', 'admin-token');
  const config = readConfig(context.env);
  if (config.LIVEFX_DATABASE_URL) return rotateShared(config.LIVEFX_DATABASE_URL, context);
  const database = LivefxDatabase.open(config.LIVEFX_DATA_DIR, MIGRATIONS);
  try {
    const issued = await new SqliteTokenStore({ db: database.db }).rotateAdmin(ROTATED_LABEL);
    context.stderr.write(`new admin token for ${path.join(config.LIVEFX_DATA_DIR, LivefxDatabase.FILE_NAME)} (shown only now; the old ones are revoked):\n`);
    context.stdout.write(`${issued.token}\n`);
    return 0;
  } finally {
    database.close();
  }
}

const ROTATED_LABEL = 'admin (livefx admin-token --rotate)';

/** With LIVEFX_DATABASE_URL the stored admin tokens are the cluster's: rotated there, for every node. */
async function rotateShared(url: string, context: CliContext): Promise<number> {
  let database: PostgresDatabase;
  try {
    database = await PostgresDatabase.open({ url, migrations: MIGRATIONS, log: pino({ level: 'silent' }) });
  } catch (error) {
    if (error instanceof LivefxError) throw new CliError(error.message);
    throw error;
  }
  try {
    const issued = await new PostgresTokenStore({ database }).rotateAdmin(ROTATED_LABEL);
    context.stderr.write(`new admin token for PostgreSQL at ${database.url}, every node (shown only now; the old ones are revoked):\n`);
    context.stdout.write(`${issued.token}\n`);
    return 0;
  } finally {
    await database.close();
  }
}
