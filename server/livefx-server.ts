import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Server as SocketServer } from 'socket.io';
import type { LivefxConfig } from '../core/config.js';
import { LivefxError } from '../core/errors.js';
import { Authenticator, requireAnyOperator } from './auth/access.js';
import { registerRouteAccess } from './auth/route-access.js';
import { attachSocketAccess } from './auth/socket-access.js';
import { ViewerLinks } from './auth/viewer-links.js';
import { registerAuthRoutes, viewerLink } from './http/auth-routes.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { CrossOriginPolicy } from './http/cross-origin-policy.js';
import { registerPreflightRoutes } from './http/preflight-routes.js';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandler, sendRefusal } from './http/error-handler.js';
import { assetFolders, registerAssetRoutes } from './http/asset-routes.js';
import { registerMediaRoutes } from './http/media-routes.js';
import { registerPageRoutes } from './http/page-routes.js';
import { loadEarlyWhepScript } from './http/inline-page-script.js';
import { registerPresetRoutes } from './http/preset-routes.js';
import { registerRecordingRoutes } from './http/recording-routes.js';
import { registerHighlightRoutes } from './http/highlight-routes.js';
import { registerProvenanceRoutes } from './http/provenance-routes.js';
import { registerRecordingFrameRoutes } from './http/recording-frame-routes.js';
import { ProvenanceKeyStore } from '../core/provenance/provenance-key-store.js';
import { ProvenanceSigner } from '../core/provenance/provenance-signer.js';
import type { HighlightService } from '../highlights/highlight-service.js';
import type { RenderService } from '../studio/render-service.js';
import { openJobServices } from './job-services.js';
import { IdempotencyKeys } from './http/idempotency-keys.js';
import { registerInternalMediaRoutes } from './http/internal-media-routes.js';
import { registerRenderRoutes } from './http/render-routes.js';
import { registerSignallingRoutes } from './http/signalling-routes.js';
import { registerRequestLimits } from './http/request-limits.js';
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
import { createLogger, type Logger } from '../core/logger.js';
import { LivefxMetrics, registerJobMetrics, registerTransformBackendMetrics } from './metrics.js';
import { Gauge } from 'prom-client';
import type { Sfu } from './sfu/sfu.js';
import { LivefxDatabase } from '../core/database.js';
import { MIGRATIONS } from './storage/migrations.js';
import { PostgresDatabase } from '../core/postgres-database.js';
import type { PresetStore } from './storage/preset-store.js';
import { defaultParts, type LivefxParts } from './livefx-parts.js';
import { StreamRegistry } from './streams/stream-registry.js';
import { Recorder } from '../recorder/recorder.js';
import type { StoryboardStore } from '../studio/ports.js';
import type { TemplateFolder } from '../studio/template-folder.js';
import { registerStoryboardRoutes } from './http/storyboard-routes.js';
import { NodeCluster, describeNode, hasViewerRoom, type NodeInfo, type NodeLoad } from './cluster/node-cluster.js';
import { ViewerRelays } from './cluster/viewer-relays.js';
import { ClusterRedirects, REDIRECT_PARAM } from './cluster/cluster-redirects.js';
import { HlsProxy } from './cluster/hls-proxy.js';
import { StreamTakeover } from './cluster/stream-takeover.js';
import { RemoteStreamStates } from './cluster/remote-stream-states.js';
import { PLACEMENT_HEADER, StreamPlacement } from './cluster/stream-placement.js';
import { CpuMeter } from './cluster/cpu-meter.js';
import { registerNodeRoutes } from './http/node-routes.js';
import { ClusterSockets } from './cluster/cluster-sockets.js';
import { OwnerRequests } from './cluster/owner-requests.js';
import { registerNodeMetrics } from './metrics.js';
import type { AccessGrant } from './auth/route-access.js';
import { WebgpuHub } from '../transforms/webgpu/webgpu-hub.js';

/** How long shutdown lets HTTP requests in flight finish before it closes their connections. */
const IN_FLIGHT_GRACE_MS = 1000;

/** The project root: two levels above this file, both from server/ (sources) and dist/server/ (built). */
function projectRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = path.resolve(here, '..');
  return path.basename(up) === 'dist' ? path.resolve(up, '..') : up;
}

export interface LivefxServerOptions {
  config: LivefxConfig;
  /** Defaults to a logger at LIVEFX_LOG_LEVEL. */
  log?: Logger;
  /** Parts to use instead of the defaults (see defaultParts); the server closes them on close(). */
  parts?: Partial<LivefxParts>;
  /** Called once a drain (SIGTERM with LIVEFX_REDIS_URL, or POST /v1/nodes/:id/drain) is complete: the process exits then. */
  onDrained?: () => void;
}

/** The viewer routes another node's signed viewer grant opens on the owner: WHEP (a redirected or relaying viewer), HLS (a proxying node) and the stream's view. */
const VIEWER_GRANT_ROUTES = new Set(['/whep/:id', '/hls/:id/:file', '/v1/streams/:id']);

/** One livefx server: HTTP API, signalling, socket.io, the SFU and every stream. */
export class LivefxServer {
  readonly metrics = new LivefxMetrics();
  readonly config: LivefxConfig;
  readonly log: Logger;
  readonly http: FastifyInstance;
  readonly io: SocketServer;
  private readonly givenParts: Partial<LivefxParts>;
  private openParts: LivefxParts | undefined;
  private openRegistry: StreamRegistry | undefined;
  private openAudience: AudienceHub | undefined;
  private openDatabase: LivefxDatabase | undefined;
  private openShared: PostgresDatabase | undefined;
  private openRecorder: Recorder | undefined;
  private openHighlights: HighlightService | undefined;
  private openSigner: ProvenanceSigner | undefined;
  private openStoryboards: StoryboardStore | undefined;
  private openTemplates: TemplateFolder | undefined;
  private openRenders: RenderService | undefined;
  private openAuth: Authenticator | undefined;
  private stopSocketAccess: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private openCluster: NodeCluster | undefined;
  private openClusterSockets: ClusterSockets | undefined;
  private openRelays: ViewerRelays | undefined;
  /** With LIVEFX_REDIS_URL: other nodes' HLS served here, and other nodes' streams followed for the sockets here. */
  private openHlsProxy: HlsProxy | undefined;
  private openRemoteStates: RemoteStreamStates | undefined;
  private draining: Promise<void> | undefined;
  /** While draining: called when a relayed viewer leaves (the drain may be complete). */
  private drainProgress: (() => void) | undefined;
  private readonly onDrained: (() => void) | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly cpu = new CpuMeter();
  private publicUrl = '';

  constructor(options: LivefxServerOptions) {
    const config = (this.config = options.config);
    const log = (this.log = options.log ?? createLogger(config.LIVEFX_LOG_LEVEL));
    this.givenParts = options.parts ?? {};
    this.onDrained = options.onDrained;
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
    // LIVEFX_DATABASE_URL: the shared stores; unreachable → a store_unavailable error naming the (masked) URL, and no start.
    const shared = this.config.LIVEFX_DATABASE_URL ? (this.openShared = await PostgresDatabase.open({ url: this.config.LIVEFX_DATABASE_URL, migrations: MIGRATIONS, log: this.log })) : undefined;
    if (shared) this.log.info({ database: shared.url, migrations: shared.applied }, 'shared store: PostgreSQL');
    // LIVEFX_REDIS_URL: this node joins the node registry, and its streams' owners live in Redis (unreachable: no start).
    const cluster = this.config.LIVEFX_REDIS_URL
      ? (this.openCluster = await NodeCluster.open({ redisUrl: this.config.LIVEFX_REDIS_URL, nodeId: this.config.LIVEFX_NODE_ID, cpuLimit: this.config.LIVEFX_CPU_LIMIT, load: () => this.nodeLoad(), log: this.log }))
      : undefined;
    // socket.io across nodes: the Redis streams adapter, the audience bus and rate limits in Redis.
    const clusterSockets = cluster ? (this.openClusterSockets = await ClusterSockets.open({ redisUrl: this.config.LIVEFX_REDIS_URL!, nodeId: cluster.nodeId, io: this.io, log: this.log })) : undefined;
    const parts = (this.openParts = defaultParts(
      { config: this.config, log: this.log, database, shared },
      cluster && clusterSockets ? { streamDirectory: cluster.directory, audienceBus: clusterSockets.bus, ...this.givenParts } : this.givenParts,
    ));
    const registry = (this.openRegistry = new StreamRegistry({ config: this.config, metrics: this.metrics, log: this.log, directory: parts.streamDirectory }));
    const redirects = cluster ? new ClusterRedirects({ cluster }) : undefined;
    const placement = cluster ? new StreamPlacement({ cluster, log: this.log }) : undefined;
    const owners = cluster ? new OwnerRequests({ cluster }) : undefined;
    const hlsProxy = (this.openHlsProxy = redirects && this.config.LIVEFX_CLUSTER_VIEWERS === 'serve' ? new HlsProxy({ redirects, cacheBytes: this.config.LIVEFX_CLUSTER_HLS_CACHE_MB * 2 ** 20, log: this.log, metrics: this.metrics }) : undefined);
    const takeover = cluster ? new StreamTakeover({ cluster, registry, accepting: () => this.draining === undefined, log: this.log }) : undefined;
    const remoteStates = (this.openRemoteStates = redirects ? new RemoteStreamStates({ redirects, log: this.log }) : undefined);
    if (cluster) {
      cluster.on('drain', () => void this.drain());
      registry.on('streamclosed', (stream) => {
        cluster.beat();
        void cluster.removeStream(stream.id).catch((error: unknown) => this.log.warn({ err: error, streamId: stream.id }, 'node registry: the stream record could not be removed'));
      });
      registry.on('newstream', () => cluster.beat());
    }
    registerTransformBackendMetrics(this.metrics, () => registry.list().map((stream) => stream.chainStats));
    const audience = (this.openAudience = new AudienceHub({ registry, log: this.log, bus: parts.audienceBus }));
    if (owners) audience.on('ended', ({ streamId }) => owners.forget(streamId));
    const { presets, tokens } = parts;
    presets.on('changed', (_list, change) => this.log.info(change, `preset ${change.action}`));
    tokens.on('revoked', (record) => this.log.info({ tokenId: record.id, role: record.role, label: record.label }, 'token revoked'));
    const auth = (this.openAuth = new Authenticator({
      tokens,
      viewerLinks: new ViewerLinks(ViewerLinks.fileIn(this.config.LIVEFX_DATA_DIR)),
      adminToken: this.config.LIVEFX_ADMIN_TOKEN,
      streamOfKey: (token) => registry.list().find((stream) => stream.keyMatches(token))?.id,
    }));
    const generatedAdmin = !this.config.LIVEFX_ADMIN_TOKEN && !(await tokens.hasAdmin()) ? await tokens.issue('admin', { label: 'admin (generated on first start)' }) : undefined;
    const recorder = (this.openRecorder = new Recorder({
      catalog: parts.catalog,
      sharedCatalog: shared !== undefined,
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
    recorder.watch(registry);
    recorder.listenTo(audience);
    // Made on the first start (0600), so GET /v1/provenance/key answers before anything was signed.
    const provenanceKeys = new ProvenanceKeyStore({ dir: ProvenanceKeyStore.dirIn(this.config.LIVEFX_DATA_DIR) });
    await provenanceKeys.current();
    const signer = (this.openSigner = new ProvenanceSigner({ keys: provenanceKeys }));
    const storyboards = (this.openStoryboards = parts.storyboards);
    const services = openJobServices({ config: this.config, log: this.log, jobQueue: parts.jobQueue, recorder, presets, storyboards, signer });
    const highlights = (this.openHighlights = services.highlights);
    this.openRenders = services.renders;
    const { studioSources, templates, planner } = services;
    this.openTemplates = templates;
    // Every job kind is registered by now: the queue starts (with Redis, this checks that it answers).
    await highlights.start();
    registerJobMetrics(this.metrics, parts.jobQueue, this.config.LIVEFX_JOB_DEADLINE_S);
    const crossOrigin = new CrossOriginPolicy({ corsOrigins: this.config.LIVEFX_CORS_ORIGINS, embedOrigins: this.config.LIVEFX_EMBED_ORIGINS });
    const earlyWhep = await loadEarlyWhepScript(projectRoot());
    registerSecurityHeaders(app, {
      tls: this.config.LIVEFX_TLS_CERT !== undefined,
      policy: crossOrigin,
      clusterOrigins: cluster ? () => clusterOrigins(cluster, this.publicUrl) : undefined,
      inlineScripts: earlyWhep ? [earlyWhep.cspSource] : [],
    });
    // Shutting down: nothing new is accepted (no new stream, WHIP or WHEP session, upload or job); what runs is finished.
    app.addHook('onRequest', async (_request, reply) => {
      if (this.closing) return sendRefusal(reply.header('connection', 'close'), new LivefxError('shutting_down', 'the server is shutting down'));
    });
    // Rate limits first (cheap, and a flood never reaches the token lookup), then access control.
    registerRequestLimits(app, this.config, this.metrics);
    // Another node's signed grants: a WHEP redirect's token (also what a node proxying HLS or reading a stream's state presents), a placed stream's creation.
    const grant: AccessGrant = (request, rule, streamId) =>
      (rule === 'stream-viewer' && VIEWER_GRANT_ROUTES.has(request.routeOptions.url ?? '') && redirects !== undefined && viewerGrant(redirects, (request.query as Record<string, unknown>)[REDIRECT_PARAM], streamId)) ||
      (rule === 'admin' && request.method === 'POST' && request.routeOptions.url === '/v1/streams' && (placement?.placedHere(request.headers[PLACEMENT_HEADER]) ?? false)) ||
      // An operator request another node checked and passed on to this stream's owner.
      ((rule === 'stream-operator' || rule === 'stream-viewer') && streamId !== '' && (owners?.acceptForwarded(request, streamId) ?? false));
    registerRouteAccess(app, auth, (id) => registry.get(id), grant);
    registerErrorHandler(app, { config: this.config, metrics: this.metrics, log: this.log });
    registerStreamRoutes(app, registry, {
      operatorToken: (stream) => tokens.issue('operator', { streamId: stream.id, label: `operator of ${stream.id} (${stream.title})` }),
      viewerLink: (stream) => viewerLink(auth, stream, this.config.LIVEFX_VIEWER_LINK_TTL_S),
      announce: async (stream) => {
        // Written before the answer, so the stream's URLs work on every node at once.
        if (!cluster) return undefined;
        await cluster.publishStream(stream).catch((error: unknown) => this.log.warn({ err: error, streamId: stream.id }, 'node registry: the stream record could not be written (Redis); it is served here only'));
        return { id: cluster.nodeId, url: cluster.url };
      },
    }, { placement, draining: () => this.draining !== undefined, remoteView: remoteStates ? async (id, principal) => (await remoteStates.view(id, principal))?.view : undefined });
    registerAuthRoutes(app, auth, registry, this.config.LIVEFX_VIEWER_LINK_TTL_S);
    registerTransformRoutes(app, registry, owners);
    const moderation = new ChatModeration(registry, audience);
    registerModerationRoutes(app, registry, moderation, owners);
    registerPresetRoutes(app, registry, presets);
    await registerAssetRoutes(app, assetFolders(this.config.LIVEFX_DATA_DIR, this.config));
    registerPreflightRoutes(app, crossOrigin);
    const relays = (this.openRelays = cluster
      ? new ViewerRelays({ sfu: parts.sfu, tokens: cluster.tokens, graceMs: this.config.LIVEFX_RELAY_GRACE_S * 1000, log: this.log, onChange: () => {
          cluster.beat();
          this.drainProgress?.();
        } })
      : undefined);
    const viewerCapacity = { hasRoom: () => hasViewerRoom(this.nodeLoad()), draining: () => this.draining !== undefined, ...(relays ? { relays } : {}) };
    registerSignallingRoutes(app, registry, parts.sfu, this.log, { sdpMaxBytes: this.config.LIVEFX_SDP_MAX_KB * 1024 }, redirects, viewerCapacity, takeover);
    registerMediaRoutes(app, registry, redirects, hlsProxy);
    registerNodeRoutes(app, { nodes: () => registryCall(async () => (cluster ? cluster.nodes() : [this.localNode()])), drain: (id) => registryCall(() => this.drainNode(id)), readinessProblems: () => this.readinessProblems() }, registry, redirects, this.config.LIVEFX_CLUSTER_VIEWERS);
    registerRecordingRoutes(app, recorder, { importMaxBytes: this.config.LIVEFX_IMPORT_MAX_MB * 2 ** 20 });
    const idempotency = new IdempotencyKeys({ store: parts.idempotency, queue: parts.jobQueue });
    registerHighlightRoutes(app, highlights, recorder, idempotency, services.remote);
    registerProvenanceRoutes(app, provenanceKeys);
    registerRecordingFrameRoutes(app, recorder, { cacheDir: path.join(this.config.LIVEFX_DATA_DIR, 'cache', 'frames'), ffmpeg: this.config.LIVEFX_FFMPEG, ffprobe: this.config.LIVEFX_FFPROBE });
    await registerStoryboardRoutes(app, { store: storyboards, planner, templates, sources: studioSources });
    registerRenderRoutes(app, this.renders, idempotency, services.remote);
    // Workers on other machines read job media from this node and upload outputs to it (LIVEFX_INTERNAL_SECRET).
    if (services.mediaToken) {
      const renders = this.renders;
      registerInternalMediaRoutes(app, { token: services.mediaToken, recorder, dataDir: this.config.LIVEFX_DATA_DIR, outputDir: { highlights: (id) => highlights.jobDir(id), renders: (id) => renders.renderDir(id) } });
    }
    await registerPageRoutes(app, projectRoot(), earlyWhep);
    app.get('/healthz', async () => ({ ok: true, streams: registry.list().length }));
    registerNodeMetrics(this.metrics, () => (cluster ? cluster.lastKnown : [this.localNode()]));
    app.get('/metrics', async (_request, reply) => reply.header('Content-Type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics()));
    limitSocketMessages(this.io, this.config, this.log, this.metrics);
    this.stopSocketAccess = attachSocketAccess(this.io, auth, {
      '/live': undefined,
      '/audience': undefined,
      '/operator': (principal) => requireAnyOperator(principal, 'the operator console'),
    });
    attachLiveNamespace(this.io, registry, this.log, owners && remoteStates ? { remote: owners, hub: audience, states: remoteStates } : undefined);
    attachOperatorNamespace(this.io, registry, presets, recorder, { hub: audience, moderation }, this.log, owners);
    attachAudienceNamespace(this.io, registry, audience, this.config, this.log, owners && clusterSockets ? { remote: owners, rateLimiter: (kind, rate) => clusterSockets.rateLimiter(kind, rate) } : undefined);
    for (const namespace of ['/live', '/operator', '/audience']) this.io.of(namespace).on('connection', guardSocketEvents);
    await app.listen({ host: this.config.HOST, port: this.config.PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : this.config.PORT;
    const host = this.config.HOST.includes(':') ? `[${this.config.HOST}]` : this.config.HOST;
    const url = `${this.config.LIVEFX_TLS_CERT ? 'https' : 'http'}://${host}:${port}`;
    this.publicUrl = (this.config.LIVEFX_URL ?? url).replace(/\/$/, '');
    // The first heartbeat is written before the node says it runs: placement sees it at once.
    await cluster?.start(this.publicUrl);
    return generatedAdmin ? { url, adminToken: generatedAdmin.token } : { url };
  }

  /** Whether this node is one of several (LIVEFX_REDIS_URL): SIGTERM then drains before it stops. */
  get clustered(): boolean {
    return this.openCluster !== undefined;
  }

  /**
   * Drains this node: no new stream is placed here, its open streams and their viewers go on until they
   * end or LIVEFX_DRAIN_DEADLINE_S passes; then `onDrained` is called (the process exits). Idempotent.
   */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      const registry = this.openRegistry;
      this.openCluster?.markDraining();
      // Viewers this node relays for other nodes' streams are served to the end too (no new one is taken).
      const relayedViewers = (): number => this.openRelays?.viewers ?? 0;
      const drained = (): boolean => (registry?.openCount() ?? 0) === 0 && relayedViewers() === 0;
      this.log.info({ openStreams: registry?.openCount() ?? 0, relayedViewers: relayedViewers(), deadlineS: this.config.LIVEFX_DRAIN_DEADLINE_S }, 'draining: no new streams or relayed viewers; waiting for the open ones to end');
      if (!drained()) {
        await new Promise<void>((resolve) => {
          const deadline = setTimeout(() => {
            this.log.warn({ openStreams: registry?.openCount() ?? 0, relayedViewers: relayedViewers() }, 'drain deadline passed (LIVEFX_DRAIN_DEADLINE_S): stopping with streams or relayed viewers still open');
            done();
          }, this.config.LIVEFX_DRAIN_DEADLINE_S * 1000);
          // The open streams keep the process alive, not this timer (a server closed meanwhile must not be held).
          deadline.unref();
          const onProgress = (): void => {
            if (drained()) done();
          };
          const done = (): void => {
            clearTimeout(deadline);
            registry?.off('streamclosed', onProgress);
            this.drainProgress = undefined;
            resolve();
          };
          registry?.on('streamclosed', onProgress);
          this.drainProgress = onProgress;
        });
      }
      this.log.info('drained');
      this.onDrained?.();
    })();
    return this.draining;
  }

  private async drainNode(id: string): Promise<boolean> {
    const selfId = this.openCluster?.nodeId ?? this.localNodeId;
    if (id === selfId) {
      void this.drain();
      return true;
    }
    return this.openCluster ? this.openCluster.requestDrain(id) : false;
  }

  private get localNodeId(): string {
    return this.config.LIVEFX_NODE_ID ?? 'local';
  }

  /** This node's figures now: what its heartbeat reports. */
  private nodeLoad(): NodeLoad {
    const open = this.openRegistry?.list().filter((stream) => stream.state !== 'ended') ?? [];
    const relays = this.openRelays?.list() ?? [];
    return {
      streamIds: open.map((stream) => stream.id),
      viewers: open.reduce((sum, stream) => sum + stream.webrtcViewers, 0) + relays.reduce((sum, relay) => sum + relay.viewers, 0),
      maxStreams: this.config.LIVEFX_MAX_STREAMS,
      maxViewers: this.config.LIVEFX_MAX_VIEWERS,
      relays: relays.length,
    };
  }

  /** This node alone, without a node registry (no LIVEFX_REDIS_URL). */
  private localNode(): NodeInfo {
    const identity = { id: this.localNodeId, url: this.publicUrl, state: this.draining ? 'draining' : 'serving', cpuPercent: this.cpu.sample(), cpuLimit: this.config.LIVEFX_CPU_LIMIT, startedAt: this.startedAt } as const;
    return describeNode(identity, this.nodeLoad());
  }

  private async readinessProblems(): Promise<string[]> {
    const problems: string[] = [];
    if (this.draining) problems.push('this node is draining');
    const [redis, store] = await Promise.allSettled([this.openCluster?.ping(), this.openShared?.query('SELECT 1')]);
    if (redis.status === 'rejected') problems.push(`Redis cannot be reached (LIVEFX_REDIS_URL): ${errorMessage(redis.reason)}`);
    if (store.status === 'rejected') problems.push(`PostgreSQL cannot be reached (LIVEFX_DATABASE_URL): ${errorMessage(store.reason)}`);
    return problems;
  }

  /** The parts in use (given or default), from start() until close(). */
  get parts(): LivefxParts {
    if (!this.openParts) throw new Error('the server has not started: its parts are chosen in start()');
    return this.openParts;
  }

  get registry(): StreamRegistry {
    if (!this.openRegistry) throw new Error('the server has not started: the stream registry opens in start()');
    return this.openRegistry;
  }

  /** Chat, reactions and viewer counts of every stream: the recorder listens here. */
  get audience(): AudienceHub {
    if (!this.openAudience) throw new Error('the server has not started: the audience hub opens in start()');
    return this.openAudience;
  }

  get sfu(): Sfu {
    return this.parts.sfu;
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

  /** Signs the provenance manifest of every output (highlights, studio renders) with the data directory's key. */
  get provenanceSigner(): ProvenanceSigner {
    if (!this.openSigner) throw new Error('the server has not started: the provenance signer opens in start()');
    return this.openSigner;
  }

  /** Studio renders: jobs on the shared queue, outputs under $LIVEFX_DATA_DIR/studio/. */
  get renders(): RenderService {
    if (!this.openRenders) throw new Error('the server has not started: renders open in start()');
    return this.openRenders;
  }

  get highlights(): HighlightService {
    if (!this.openHighlights) throw new Error('the server has not started: highlights open in start()');
    return this.openHighlights;
  }

  /** Stored storyboards (the StoryboardStore port the render side reads). */
  get storyboards(): StoryboardStore {
    if (!this.openStoryboards) throw new Error('the server has not started: storyboards open in start()');
    return this.openStoryboards;
  }

  /** Built-in and uploaded templates (the TemplateLibrary port). */
  get templates(): TemplateFolder {
    if (!this.openTemplates) throw new Error('the server has not started: templates open in start()');
    return this.openTemplates;
  }

  /** Tokens, viewer links and who presented what (open from start() until close()). */
  get auth(): Authenticator {
    if (!this.openAuth) throw new Error('the server has not started: auth opens in start()');
    return this.openAuth;
  }

  get presets(): PresetStore {
    return this.parts.presets;
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
      await this.openRegistry?.closeAll();
      // Relayed viewers end with this node; the owners' subscriptions are given back.
      await this.openRelays?.close();
      // Ending the streams finished their recordings; this catches one that was still starting.
      // Running highlights jobs stop here and run again from scratch on the next start.
      await this.openHighlights?.close();
      // Running renders stop (and run again on the next start); the warm studio threads end.
      await this.openRenders?.close();
      await this.openParts?.jobQueue.close();
      await this.openRecorder?.close();
      this.openAudience?.close();
      await this.openParts?.audienceBus.close();
      await this.openParts?.streamDirectory.close();
      this.openRemoteStates?.close();
      this.openHlsProxy?.close();
      await this.openCluster?.close();
      await this.openParts?.sfu.close();
      // The streams have ended: the shared GPU thread destroys its device and ends.
      await WebgpuHub.current()?.close();
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
      await this.openClusterSockets?.close();
      await this.http.close();
      this.openDatabase?.close();
      await this.openShared?.close();
    })();
    return this.closing;
  }
}

/** The origins of the other alive nodes (a page's WHEP follows a 307 there), sorted so the policy text is stable. */
function clusterOrigins(cluster: NodeCluster, ownUrl: string): string[] {
  const own = ownUrl ? new URL(ownUrl).origin : '';
  const origins = cluster.lastKnown.flatMap((node) => (URL.canParse(node.url) ? [new URL(node.url).origin] : []));
  return [...new Set(origins)].filter((origin) => origin !== own).sort();
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A node-registry read or write; Redis unreachable is a 503 `node_not_ready`, not an internal error. */
async function registryCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new LivefxError('node_not_ready', `the node registry (Redis, LIVEFX_REDIS_URL) cannot be reached: ${errorMessage(error)}`, { cause: error });
  }
}

/** Another node's signed grant to watch: a viewer redirected to the owner, or a relay node's subscription to it. */
function viewerGrant(redirects: ClusterRedirects, token: unknown, streamId: string): boolean {
  return redirects.accepts(token, 'whep', streamId) || redirects.accepts(token, 'upstream', streamId);
}
