import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Server as SocketServer } from 'socket.io';
import type { LivefxConfig } from '../core/config.js';
import { errorBody, HttpError } from './http/http-error.js';
import { AccessError, Authenticator, requireAnyOperator } from './auth/access.js';
import { registerRouteAccess } from './auth/route-access.js';
import { attachSocketAccess } from './auth/socket-access.js';
import { TokenStore } from './auth/token-store.js';
import { ViewerLinks } from './auth/viewer-links.js';
import { registerAuthRoutes, viewerLink } from './http/auth-routes.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { clientErrorHandler, frameworkErrorHandler } from './http/framework-errors.js';
import { assetFolders, registerAssetRoutes } from './http/asset-routes.js';
import { registerMediaRoutes } from './http/media-routes.js';
import { registerPageRoutes } from './http/page-routes.js';
import { registerPresetRoutes } from './http/preset-routes.js';
import { registerRecordingRoutes } from './http/recording-routes.js';
import { registerHighlightRoutes } from './http/highlight-routes.js';
import { HighlightService } from '../highlights/highlight-service.js';
import { SqliteJobQueue } from '../core/jobs/sqlite-job-queue.js';
import { LivefxError, toErrorBody } from '../core/errors.js';
import { RenderService } from '../studio/render-service.js';
import type { StoryboardStore, TemplateLibrary } from '../studio/ports.js';
import { registerRenderRoutes } from './http/render-routes.js';
import { registerSignallingRoutes } from './http/signalling-routes.js';
import { bodyTooLargeMessage, registerRequestLimits } from './http/request-limits.js';
import { limitSocketMessages } from './socket-message-limits.js';
import { registerStreamRoutes } from './http/stream-routes.js';
import { registerTransformRoutes } from './http/transform-routes.js';
import { attachLiveNamespace } from './live-socket.js';
import { attachOperatorNamespace } from './operator-socket.js';
import { attachAudienceNamespace } from './audience/audience-socket.js';
import { guardSocketEvents } from './socket-event-guard.js';
import { AudienceHub } from './audience/audience-hub.js';
import { ChatModeration } from './audience/chat-moderation.js';
import { registerModerationRoutes } from './http/moderation-routes.js';
import type { Logger } from '../core/logger.js';
import { LivefxMetrics } from './metrics.js';
import { Gauge } from 'prom-client';
import type { Sfu } from './sfu/sfu.js';
import { WeriftSfu } from './sfu/werift-sfu.js';
import { LivefxDatabase } from '../core/database.js';
import { MIGRATIONS } from './storage/migrations.js';
import { PresetStore } from './storage/preset-store.js';
import { StreamRegistry } from './streams/stream-registry.js';
import { Recorder } from '../recorder/recorder.js';

/** How long shutdown lets HTTP requests in flight finish before it closes their connections. */
const IN_FLIGHT_GRACE_MS = 1000;

/** The project root: two levels above this file, both from server/ (sources) and dist/server/ (built). */
function projectRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = path.resolve(here, '..');
  return path.basename(up) === 'dist' ? path.resolve(up, '..') : up;
}

/** The studio's stores, where a caller supplies its own (tests; the planner's store until it is wired). */
export interface StudioPorts {
  storyboards?: StoryboardStore;
  templates?: TemplateLibrary;
}

/** Until a storyboard store is wired, renders by storyboard id find none (templates and tests supply their own). */
const NO_STORYBOARDS: StoryboardStore = {
  create: () => Promise.reject(new LivefxError('not_found', 'storyboards are not available on this server')),
  get: () => Promise.resolve(undefined),
  list: () => Promise.resolve([]),
  replace: () => Promise.resolve(undefined),
  delete: () => Promise.resolve(false),
};

/** One livefx server: HTTP API, signalling, socket.io, the SFU and every stream. */
export class LivefxServer {
  readonly metrics = new LivefxMetrics();
  readonly registry: StreamRegistry;
  /** Chat, reactions and viewer counts of every stream: the recorder listens here. */
  readonly audience: AudienceHub;
  readonly sfu: Sfu;
  readonly http: FastifyInstance;
  readonly io: SocketServer;
  private openDatabase: LivefxDatabase | undefined;
  private presetStore: PresetStore | undefined;
  private openRecorder: Recorder | undefined;
  private openHighlights: HighlightService | undefined;
  private openRenders: RenderService | undefined;
  private openAuth: Authenticator | undefined;
  private stopSocketAccess: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly config: LivefxConfig,
    readonly log: Logger,
    private readonly studio: StudioPorts = {},
  ) {
    this.registry = new StreamRegistry({ config, metrics: this.metrics, log });
    this.audience = new AudienceHub(this.registry, log);
    const portRange = config.LIVEFX_RTC_PORTS ? (config.LIVEFX_RTC_PORTS.split('-').map(Number) as [number, number]) : undefined;
    this.sfu = new WeriftSfu({
      iceHosts: ['127.0.0.1', ...config.LIVEFX_ICE_HOSTS.split(',').map((host) => host.trim()).filter(Boolean)],
      ...(portRange ? { portRange } : {}),
      maxPublishKbps: config.LIVEFX_MAX_PUBLISH_KBPS,
      log,
    });
    // Per-request logs would drown the log in HLS segment fetches; errors are logged by the error handler.
    const https = config.LIVEFX_TLS_CERT && config.LIVEFX_TLS_KEY ? { cert: readFileSync(config.LIVEFX_TLS_CERT), key: readFileSync(config.LIVEFX_TLS_KEY) } : undefined;
    this.http = Fastify({
      loggerInstance: log as FastifyBaseLogger,
      bodyLimit: config.LIVEFX_HTTP_BODY_MAX_KB * 1024,
      logController: new LogController({ disableRequestLogging: true }),
      // The router's and Node's HTTP parser's refusals get the API's error shape too.
      frameworkErrors: frameworkErrorHandler,
      clientErrorHandler,
      ...(https ? { https } : {}),
    }) as unknown as FastifyInstance;
    // While shutting down, new socket.io connections are refused (HTTP requests get 503, see start()).
    this.io = new SocketServer(this.http.server, {
      serveClient: true,
      maxHttpBufferSize: config.LIVEFX_SOCKET_MESSAGE_MAX_KB * 1024,
      allowRequest: (_request, callback) => callback(this.closing ? 'shutting_down' : null, !this.closing),
    });
  }

  /**
   * Opens everything and listens. `adminToken` is set only on the very first start without
   * LIVEFX_ADMIN_TOKEN: the generated admin token, which is stored hashed and never shown again.
   */
  async start(): Promise<{ url: string; adminToken?: string }> {
    const app = this.http;
    const database = (this.openDatabase = LivefxDatabase.open(this.config.LIVEFX_DATA_DIR, MIGRATIONS));
    if (database.applied.length > 0) this.log.info({ file: database.file, migrations: database.applied }, 'database schema migrated');
    const presets = (this.presetStore = new PresetStore(database.db));
    presets.on('changed', (_list, change) => this.log.info(change, `preset ${change.action}`));
    const tokens = new TokenStore(database.db);
    tokens.on('revoked', (record) => this.log.info({ tokenId: record.id, role: record.role, label: record.label }, 'token revoked'));
    const auth = (this.openAuth = new Authenticator(
      tokens,
      new ViewerLinks(ViewerLinks.fileIn(this.config.LIVEFX_DATA_DIR)),
      this.config.LIVEFX_ADMIN_TOKEN,
      (token) => this.registry.list().find((stream) => stream.keyMatches(token))?.id,
    ));
    const generatedAdmin = !this.config.LIVEFX_ADMIN_TOKEN && !tokens.hasAdmin() ? tokens.issue('admin', { label: 'admin (generated on first start)' }) : undefined;
    const recorder = (this.openRecorder = new Recorder({
      db: database.db,
      dataDir: this.config.LIVEFX_DATA_DIR,
      segmentS: this.config.LIVEFX_RECORD_SEGMENT_S,
      ffmpeg: this.config.LIVEFX_FFMPEG,
      ffprobe: this.config.LIVEFX_FFPROBE,
      log: this.log,
      minFreeBytes: this.config.LIVEFX_RECORD_MIN_FREE_MB * 2 ** 20,
      diskCheckIntervalMs: this.config.LIVEFX_RECORD_DISK_CHECK_S * 1000,
      retentionDays: this.config.LIVEFX_RETENTION_DAYS,
      retentionMaxBytes: this.config.LIVEFX_RETENTION_MAX_GB === undefined ? undefined : this.config.LIVEFX_RETENTION_MAX_GB * 2 ** 30,
      importMaxBytes: this.config.LIVEFX_IMPORT_MAX_MB * 2 ** 20,
    }));
    // Before any stream can go live: what a crash left unfinished is finalized first.
    await recorder.recover();
    await recorder.start();
    // Read at scrape time from the guard's last measurement (no statfs per scrape).
    new Gauge({
      name: 'livefx_recording_disk_free_bytes',
      help: 'Free space on the recordings disk at the last check (recording stops below LIVEFX_RECORD_MIN_FREE_MB)',
      registers: [this.metrics.registry],
      collect() {
        const space = recorder.diskGuard.space;
        if (space) this.set(space.freeBytes);
      },
    });
    recorder.watch(this.registry);
    recorder.listenTo(this.audience);
    // One job queue for every feature: each registers its kinds before the queue starts.
    const jobQueue = new SqliteJobQueue({
      db: database.db,
      concurrency: this.config.LIVEFX_HIGHLIGHT_CONCURRENCY,
      onError: (error, job) => this.log.warn({ err: error, jobId: job.id, kind: job.kind }, 'job failed'),
    });
    this.openRenders = new RenderService({
      jobQueue,
      dataDir: this.config.LIVEFX_DATA_DIR,
      ffmpeg: this.config.LIVEFX_FFMPEG,
      ffprobe: this.config.LIVEFX_FFPROBE,
      recordings: recorder,
      storyboards: this.studio.storyboards ?? NO_STORYBOARDS,
      ...(this.studio.templates ? { templates: this.studio.templates } : {}),
      presetSpec: (name) => presets.get(name)?.spec,
      cacheMaxBytes: this.config.LIVEFX_STUDIO_CACHE_MB * 2 ** 20,
      minFreeBytes: this.config.LIVEFX_STUDIO_MIN_FREE_MB * 2 ** 20,
      stallS: this.config.LIVEFX_HIGHLIGHT_STALL_S,
      log: this.log,
    });
    const highlights = (this.openHighlights = new HighlightService({
      db: database.db,
      recorder,
      dataDir: this.config.LIVEFX_DATA_DIR,
      ffmpeg: this.config.LIVEFX_FFMPEG,
      ffprobe: this.config.LIVEFX_FFPROBE,
      jobQueue,
      stallS: this.config.LIVEFX_HIGHLIGHT_STALL_S,
      log: this.log,
    }));
    await highlights.start();
    registerSecurityHeaders(app, this.config.LIVEFX_TLS_CERT !== undefined);
    // Shutting down: nothing new is accepted (no new stream, WHIP or WHEP session, upload or job); what runs is finished.
    app.addHook('onRequest', async (_request, reply) => {
      if (this.closing) return reply.code(503).header('connection', 'close').send(errorBody('shutting_down', 'the server is shutting down'));
    });
    // Rate limits first (cheap, and a flood never reaches the token lookup), then access control.
    registerRequestLimits(app, this.config, this.metrics);
    registerRouteAccess(app, auth, (id) => this.registry.get(id));
    app.setErrorHandler((error, request, reply) => {
      if (error instanceof AccessError) {
        this.metrics.accessRefusals.inc({ code: error.code });
        if (error.statusCode === 401) reply.header('WWW-Authenticate', `Bearer realm="livefx", error="${error.code === 'unauthorized' ? 'invalid_request' : 'invalid_token'}"`);
        return reply.code(error.statusCode).send(errorBody(error.code, error.message));
      }
      if (error instanceof HttpError) return reply.code(error.statusCode).send(errorBody(error.code, error.message));
      if (error instanceof LivefxError) return reply.code(error.httpStatus).send(toErrorBody(error).body);
      const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
      if (status === 413) return reply.code(413).send(errorBody('payload_too_large', bodyTooLargeMessage(request, this.config)));
      if (status >= 400 && status < 500) return reply.code(status).send(errorBody((error as { code?: string }).code ?? 'bad_request', (error as Error).message));
      this.log.error({ err: error }, 'request failed');
      return reply.code(500).send(errorBody('internal_error', 'internal error'));
    });
    app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`)));
    registerStreamRoutes(app, this.registry, {
      operatorToken: (stream) => tokens.issue('operator', { streamId: stream.id, label: `operator of ${stream.id} (${stream.title})` }),
      viewerLink: (stream) => viewerLink(auth, stream, this.config.LIVEFX_VIEWER_LINK_TTL_S),
    });
    registerAuthRoutes(app, auth, this.registry, this.config.LIVEFX_VIEWER_LINK_TTL_S);
    registerTransformRoutes(app, this.registry);
    const moderation = new ChatModeration(this.registry, this.audience);
    registerModerationRoutes(app, this.registry, moderation);
    registerPresetRoutes(app, this.registry, presets);
    await registerAssetRoutes(app, assetFolders(this.config.LIVEFX_DATA_DIR, this.config));
    registerSignallingRoutes(app, this.registry, this.sfu, this.log, { sdpMaxBytes: this.config.LIVEFX_SDP_MAX_KB * 1024 });
    registerMediaRoutes(app, this.registry);
    registerRecordingRoutes(app, recorder, { importMaxBytes: this.config.LIVEFX_IMPORT_MAX_MB * 2 ** 20 });
    registerHighlightRoutes(app, highlights, recorder);
    registerRenderRoutes(app, this.openRenders);
    await registerPageRoutes(app, projectRoot());
    app.get('/healthz', async () => ({ ok: true, streams: this.registry.list().length }));
    app.get('/metrics', async (_request, reply) => reply.header('Content-Type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics()));
    limitSocketMessages(this.io, this.config, this.log, this.metrics);
    this.stopSocketAccess = attachSocketAccess(this.io, auth, {
      '/live': undefined,
      '/audience': undefined,
      '/operator': (principal) => requireAnyOperator(principal, 'the operator console'),
    });
    attachLiveNamespace(this.io, this.registry);
    attachOperatorNamespace(this.io, this.registry, presets, recorder, { hub: this.audience, moderation });
    attachAudienceNamespace(this.io, this.registry, this.audience, this.config);
    for (const namespace of ['/live', '/operator', '/audience']) this.io.of(namespace).on('connection', guardSocketEvents);
    await app.listen({ host: this.config.HOST, port: this.config.PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : this.config.PORT;
    const host = this.config.HOST.includes(':') ? `[${this.config.HOST}]` : this.config.HOST;
    const url = `${this.config.LIVEFX_TLS_CERT ? 'https' : 'http'}://${host}:${port}`;
    return generatedAdmin ? { url, adminToken: generatedAdmin.token } : { url };
  }

  /** livefx.db in the data directory: open (and migrated) from start() until close(). */
  get database(): LivefxDatabase {
    if (!this.openDatabase) throw new Error('the server has not started: the database opens in start()');
    return this.openDatabase;
  }

  get recorder(): Recorder {
    if (!this.openRecorder) throw new Error('the server has not started: the recorder opens in start()');
    return this.openRecorder;
  }

  get renders(): RenderService {
    if (!this.openRenders) throw new Error('the server has not started: renders open in start()');
    return this.openRenders;
  }

  get highlights(): HighlightService {
    if (!this.openHighlights) throw new Error('the server has not started: highlights open in start()');
    return this.openHighlights;
  }

  /** Tokens, viewer links and who presented what (open from start() until close()). */
  get auth(): Authenticator {
    if (!this.openAuth) throw new Error('the server has not started: auth opens in start()');
    return this.openAuth;
  }

  get presets(): PresetStore {
    if (!this.presetStore) throw new Error('the server has not started: presets open in start()');
    return this.presetStore;
  }

  /**
   * Graceful shutdown: refuses new requests and connections (503 `shutting_down`), ends every stream
   * (their recordings finish their segments and event logs; their workers end every ffmpeg, ASR and
   * detector), stops the highlights jobs, closes the sockets and the HTTP server, then the database.
   * Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopSocketAccess?.();
      await this.registry.closeAll();
      // Ending the streams finished their recordings; this catches one that was still starting.
      // Running highlights jobs stop here and run again from scratch on the next start.
      await this.openHighlights?.close();
      this.openRecorder?.close();
      this.audience.close();
      await this.sfu.close();
      // Closes the sockets and stops listening; the callback comes once the last HTTP connection is gone.
      // socket.io closes the HTTP server too, which then waits for every open connection. A keep-alive
      // connection whose last response (a file stream) had not finished when close began is not idle and
      // would hold shutdown for fastify's keepAliveTimeout (72 s): idle ones are closed at once, and
      // requests in flight get a moment to finish; one that does not (a stalled upload) is cut.
      const httpClosed = new Promise<void>((resolve) => this.io.close(() => resolve()));
      this.http.server.closeIdleConnections();
      const cut = setTimeout(() => this.http.server.closeAllConnections(), IN_FLIGHT_GRACE_MS);
      await httpClosed;
      clearTimeout(cut);
      await this.http.close();
      this.openDatabase?.close();
    })();
    return this.closing;
  }
}
