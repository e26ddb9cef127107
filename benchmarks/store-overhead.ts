// The cost of the shared store on the hot paths: the same requests and store calls against a server
// on livefx.db (SQLite) and one on PostgreSQL (LIVEFX_DATABASE_URL, a throwaway cluster on this
// machine), interleaved one by one so load on the machine falls on both alike.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { LivefxDatabase } from '../core/database.js';
import { createLogger } from '../core/logger.js';
import { PostgresDatabase } from '../core/postgres-database.js';
import { PostgresRecordingCatalog } from '../recorder/postgres-recording-catalog.js';
import type { RecordingCatalogStore, RecordingEvent } from '../recorder/recording-catalog.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import { PostgresTokenStore } from '../server/auth/postgres-token-store.js';
import { SqliteTokenStore } from '../server/auth/sqlite-token-store.js';
import type { TokenStore } from '../server/auth/token-store.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import { adminFetch, createStream, startServer, type RunningServer } from '../test/helpers/livefx-process.js';
import { PostgresServer } from '../test/helpers/postgres-server.js';
import { percentile, writeResult } from './bar-chart.js';

const HTTP_REQUESTS = Number(process.env.STORE_HTTP_REQUESTS ?? 1000);
const STORE_CALLS = Number(process.env.STORE_CALLS ?? 2000);
/** Chat events per append: a busy chat (40 messages a second) over one 250 ms flush of the event log. */
const EVENTS_PER_APPEND = 10;
const WARMUP = 100;

const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;
const summary = (samples: number[]) => ({ p50Ms: round(percentile(samples, 0.5)), p95Ms: round(percentile(samples, 0.95)), maxMs: round(Math.max(...samples)), count: samples.length });

interface Backend {
  name: 'SQLite' | 'PostgreSQL';
  server: RunningServer;
  streamUrl: string;
  operatorToken: string;
  tokens: TokenStore;
  storedToken: string;
  catalog: RecordingCatalogStore;
  samples: { getStream: number[]; tokenVerify: number[]; insertEvents: number[] };
}

/** Times `call` once per backend per round, alternating which goes first. */
async function interleaved(backends: Backend[], rounds: number, call: (backend: Backend, round: number) => Promise<unknown>, record: (backend: Backend) => number[]): Promise<void> {
  for (let round = -WARMUP; round < rounds; round++) {
    const order = round % 2 === 0 ? backends : [...backends].reverse();
    for (const backend of order) {
      const started = performance.now();
      await call(backend, round);
      const elapsed = performance.now() - started;
      if (round >= 0) record(backend).push(elapsed);
    }
  }
}

const log = createLogger('silent');
const loadBefore = loadavg();
const cluster = await PostgresServer.create();
const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-bench-store-'));
const closers: (() => Promise<unknown> | unknown)[] = [];
try {
  const databaseUrl = await cluster.createDatabase('bench');
  // Rate limits off (0): the benchmark sends far more than a user would.
  const unlimited = { LIVEFX_LOG_LEVEL: 'warn', LIVEFX_HTTP_RATE_PER_IP: '0', LIVEFX_HTTP_RATE_PER_TOKEN: '0' };
  const sqliteServer = await startServer(unlimited);
  closers.push(() => sqliteServer.stop());
  const postgresServer = await startServer({ ...unlimited, LIVEFX_DATABASE_URL: databaseUrl });
  closers.push(() => postgresServer.stop());

  // The store calls run in this process, each store opened as the server opens it.
  const sqlite = LivefxDatabase.open(scratch, MIGRATIONS);
  closers.push(() => sqlite.close());
  const postgres = await PostgresDatabase.open({ url: await cluster.createDatabase('bench_direct'), migrations: MIGRATIONS, log });
  closers.push(() => postgres.close());

  const backends: Backend[] = [];
  for (const [name, server, tokens, catalog] of [
    ['SQLite', sqliteServer, new SqliteTokenStore({ db: sqlite.db }), new SqliteRecordingCatalog({ db: sqlite.db })],
    ['PostgreSQL', postgresServer, new PostgresTokenStore({ database: postgres }), new PostgresRecordingCatalog({ database: postgres })],
  ] as const) {
    const stream = await createStream(server.url, `store overhead on ${name}`);
    const storedToken = (await tokens.issue('operator', { label: 'benchmark' })).token;
    await catalog.create({ id: 'bench-recording', streamId: stream.id, title: 'bench', state: 'recording', startedAt: new Date().toISOString(), endedAt: null, durationS: 0 });
    backends.push({ name, server, streamUrl: `${server.url}/v1/streams/${stream.id}`, operatorToken: stream.operatorToken, tokens, storedToken, catalog, samples: { getStream: [], tokenVerify: [], insertEvents: [] } });
  }

  // GET /v1/streams/:id with the stream's operator token: the token check (one store query) and the stream's view.
  await interleaved(
    backends,
    HTTP_REQUESTS,
    async (backend) => {
      const response = await adminFetch(backend.streamUrl, { headers: { authorization: `Bearer ${backend.operatorToken}` } });
      if (response.status !== 200) throw new Error(`${backend.name}: GET /v1/streams/:id answered ${response.status}`);
      await response.arrayBuffer();
    },
    (backend) => backend.samples.getStream,
  );
  await interleaved(
    backends,
    STORE_CALLS,
    async (backend) => {
      if (!(await backend.tokens.verify(backend.storedToken))) throw new Error(`${backend.name}: the token did not verify`);
    },
    (backend) => backend.samples.tokenVerify,
  );
  // One flush of the event log: EVENTS_PER_APPEND chat events in one insertEvents.
  const seqs = new Map<string, number>();
  const chatBatch = (backend: Backend): RecordingEvent[] => {
    const first = seqs.get(backend.name) ?? 1;
    seqs.set(backend.name, first + EVENTS_PER_APPEND);
    return Array.from({ length: EVENTS_PER_APPEND }, (_, index) => ({
      seq: first + index,
      t: (first + index) / 40,
      type: 'chat',
      payload: { messageId: `m${first + index}`, viewerId: 'viewer-0123456789abcdef', user: 'bench', text: 'what a goal, did you see that?' },
    }));
  };
  await interleaved(backends, STORE_CALLS, (backend) => backend.catalog.insertEvents('bench-recording', chatBatch(backend)), (backend) => backend.samples.insertEvents);

  const results = Object.fromEntries(
    backends.map((backend) => [
      backend.name,
      { getStream: summary(backend.samples.getStream), tokenVerify: summary(backend.samples.tokenVerify), insertEvents: summary(backend.samples.insertEvents) },
    ]),
  ) as Record<Backend['name'], { getStream: ReturnType<typeof summary>; tokenVerify: ReturnType<typeof summary>; insertEvents: ReturnType<typeof summary> }>;
  const result = {
    benchmark: 'store overhead: SQLite (livefx.db) vs PostgreSQL (LIVEFX_DATABASE_URL) on the hot paths',
    date: new Date().toISOString(),
    loadAverage1m: { before: round(loadBefore[0]!, 2), after: round(loadavg()[0]!, 2) },
    method: `interleaved one by one after ${WARMUP} warm-up rounds; PostgreSQL ${cluster.url().replace(/\/[^/]*$/, '')} on this machine (loopback, fsync off as in the tests); SQLite in WAL mode on the same disk`,
    paths: {
      getStream: `GET /v1/streams/:id over HTTP with the stream's operator token (token check + view), ${HTTP_REQUESTS} requests per backend`,
      tokenVerify: `TokenStore.verify() of a stored operator token, in process, ${STORE_CALLS} calls per backend`,
      insertEvents: `RecordingCatalogStore.insertEvents() of ${EVENTS_PER_APPEND} chat events (one 250 ms flush of a 40-messages-a-second chat), ${STORE_CALLS} calls per backend`,
    },
    results,
  };
  await writeResult('store-overhead', result, {
    title: 'Store overhead: SQLite vs PostgreSQL (ms, p50 and p95)',
    unit: 'ms',
    groups: [
      { label: 'GET /v1/streams/:id', values: { 'SQLite p50': results.SQLite.getStream.p50Ms, 'SQLite p95': results.SQLite.getStream.p95Ms, 'PostgreSQL p50': results.PostgreSQL.getStream.p50Ms, 'PostgreSQL p95': results.PostgreSQL.getStream.p95Ms } },
      { label: 'token verify', values: { 'SQLite p50': results.SQLite.tokenVerify.p50Ms, 'SQLite p95': results.SQLite.tokenVerify.p95Ms, 'PostgreSQL p50': results.PostgreSQL.tokenVerify.p50Ms, 'PostgreSQL p95': results.PostgreSQL.tokenVerify.p95Ms } },
      { label: `insertEvents ×${EVENTS_PER_APPEND}`, values: { 'SQLite p50': results.SQLite.insertEvents.p50Ms, 'SQLite p95': results.SQLite.insertEvents.p95Ms, 'PostgreSQL p50': results.PostgreSQL.insertEvents.p50Ms, 'PostgreSQL p95': results.PostgreSQL.insertEvents.p95Ms } },
    ],
  });
} finally {
  for (const close of closers.reverse()) await close();
  await cluster.close();
  await rm(scratch, { recursive: true, force: true });
}
