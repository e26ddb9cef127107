import type { FastifyInstance } from 'fastify';
import { LivefxError } from '../../core/errors.js';
import type { NodeInfo } from '../cluster/node-cluster.js';
import { sendRedirect, type ClusterRedirects } from '../cluster/cluster-redirects.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { sendRefusal } from './error-handler.js';

/** What the node routes read from the server. */
export interface NodeRoutesContext {
  /** Every alive node (with LIVEFX_REDIS_URL), else this one alone. */
  nodes(): Promise<NodeInfo[]>;
  /** Asks node `id` to drain; false when there is no such node. */
  drain(id: string): Promise<boolean>;
  /** What keeps this node from taking traffic (Redis, the store, a drain); empty when ready. */
  readinessProblems(): Promise<string[]>;
}

/**
 * Pages that name a stream and need the owner's sockets (publishing, operating): on a node that does not own it,
 * they are redirected to the owner. The viewer pages (/watch, /embed) too with LIVEFX_CLUSTER_VIEWERS=redirect;
 * otherwise any node serves them: their WHEP follows the 307 to the owner, HLS is proxied and the stream's state
 * is followed from here.
 */
const STREAM_PAGES = new Set(['/publish', '/operator']);
const VIEWER_PAGES = new Set(['/watch', '/embed']);

/** GET /v1/nodes and POST /v1/nodes/:id/drain (admin), GET /readyz (public), and the redirect of stream pages to their owner. */
export function registerNodeRoutes(app: FastifyInstance, context: NodeRoutesContext, registry: StreamRegistry, redirects?: ClusterRedirects, viewers: 'serve' | 'redirect' = 'serve'): void {
  app.get('/v1/nodes', async () => ({ nodes: await context.nodes() }));

  app.post<{ Params: { id: string } }>('/v1/nodes/:id/drain', async (request, reply) => {
    if (!(await context.drain(request.params.id))) throw new LivefxError('node_not_found', `no alive node with id "${request.params.id}" (GET /v1/nodes lists them)`);
    return reply.code(202).send({ id: request.params.id, state: 'draining' });
  });

  // Readiness, unlike /healthz (liveness), depends on Redis and the store: a balancer stops sending here, nobody restarts the node.
  app.get('/readyz', async (_request, reply) => {
    const problems = await context.readinessProblems();
    if (problems.length === 0) return { ok: true };
    return sendRefusal(reply, new LivefxError('node_not_ready', `not ready: ${problems.join('; ')}`));
  });

  if (!redirects) return;
  app.addHook('onRequest', async (request, reply) => {
    const page = request.routeOptions.url ?? '';
    if (request.method !== 'GET' || !(STREAM_PAGES.has(page) || (viewers === 'redirect' && VIEWER_PAGES.has(page)))) return;
    const streamId = (request.query as { stream?: unknown }).stream;
    if (typeof streamId !== 'string' || registry.get(streamId)) return;
    // Redis away: the page is served here (it then reports the stream as unknown) rather than failing.
    const owner = await redirects.passOn(streamId, request.url).catch(() => undefined);
    if (owner) return sendRedirect(reply, owner);
  });
}
