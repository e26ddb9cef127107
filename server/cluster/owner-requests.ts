import type { FastifyRequest } from 'fastify';
import { isErrorCode, LivefxError } from '../../core/errors.js';
import type { Principal } from '../auth/access.js';
import type { NodeCluster, NodeInfo, SharedStreamRecord } from './node-cluster.js';

/** The header an operator request passed on to a stream's owner carries: a signed token for the `operate` grant on that stream. */
export const FORWARD_HEADER = 'x-livefx-forwarded';
/** Who the request is for, as the forwarding node's access control found it (trusted only beside a valid FORWARD_HEADER). */
export const ACTOR_HEADER = 'x-livefx-actor';
/** A forwarded request the owner has not answered in this long fails with `owner_unreachable`. */
const FORWARD_TIMEOUT_MS = 10_000;
/** A stream another node owns, once found, is trusted this long before it is looked up again (a Redis pause must not close its chat). */
const TRUST_MS = 15_000;

/** The operator on whose behalf a request is passed on. */
export interface ForwardedActor {
  role: 'admin' | 'operator';
  tokenId?: string;
  /** What the owner logs as `changedBy` (e.g. `operator socket … (…) via node c`). */
  changedBy: string;
}

export interface OwnerRequest {
  method: 'GET' | 'PUT' | 'PATCH' | 'POST';
  /** Path on the owner, e.g. `/v1/streams/<id>/transforms`. */
  path: string;
  body?: unknown;
  actor: ForwardedActor;
}

/** What the namespaces and routes of a node need to serve a stream another node owns. */
export interface RemoteStreams {
  readonly nodeId: string;
  /** The stream's shared record when another alive node owns it; undefined when none does. */
  find(streamId: string): Promise<SharedStreamRecord | undefined>;
  /** Sends an operator's request to the stream's owner; its JSON answer, or its refusal thrown as the same LivefxError. */
  forward(streamId: string, request: OwnerRequest): Promise<unknown>;
}

/** The actor a request is passed on for: the principal access control found here. */
export function actorOf(principal: Principal, changedBy: string): ForwardedActor {
  return { role: principal.role === 'admin' ? 'admin' : 'operator', ...('tokenId' in principal && principal.tokenId ? { tokenId: principal.tokenId } : {}), changedBy };
}

/** Forwarded requests and the actors they came with (read by routes that log who changed what). */
const forwardedActors = new WeakMap<FastifyRequest, ForwardedActor>();

/** The actor of a request another node passed on; undefined for a request a client sent here. */
export function forwardedActor(request: FastifyRequest): ForwardedActor | undefined {
  return forwardedActors.get(request);
}

/**
 * A node's way to streams other nodes own (with LIVEFX_REDIS_URL): finds their shared records (cached
 * briefly, so chat on a stream whose owner is alive never waits on Redis) and passes operator requests
 * on to the owner's `/v1` API over HTTP, signed with the cluster secret. The request was authorised
 * here; the owner accepts the signed token in its place (`acceptForwarded`).
 */
export class OwnerRequests implements RemoteStreams {
  private readonly cluster: NodeCluster;
  private readonly known = new Map<string, { record: SharedStreamRecord; node: NodeInfo; checkedAt: number }>();

  constructor(options: { cluster: NodeCluster }) {
    this.cluster = options.cluster;
  }

  get nodeId(): string {
    return this.cluster.nodeId;
  }

  async find(streamId: string): Promise<SharedStreamRecord | undefined> {
    return (await this.owner(streamId))?.record;
  }

  /** The stream ended (its owner said so on the audience bus): no longer trusted. */
  forget(streamId: string): void {
    this.known.delete(streamId);
  }

  async forward(streamId: string, request: OwnerRequest): Promise<unknown> {
    let owner = await this.owner(streamId);
    if (!owner) throw new LivefxError('not_found', `no stream with id "${streamId}"`);
    let sent = await this.send(owner, streamId, request);
    if ('failure' in sent) {
      // Its owner may have just died (looked up afresh next time), or died a while ago and the stream been taken over since: asked once more if so.
      this.known.delete(streamId);
      const fresh = await this.owner(streamId).catch(() => undefined);
      if (fresh && fresh.node.id !== owner.node.id) {
        owner = fresh;
        sent = await this.send(fresh, streamId, request);
      }
    }
    if ('failure' in sent) {
      const { failure } = sent;
      throw new LivefxError('owner_unreachable', `stream "${streamId}" lives on node "${owner.node.id}" (${owner.node.url}), which did not answer: ${failure instanceof Error ? failure.message : String(failure)}`, { cause: failure });
    }
    const { response } = sent;
    const answer = (await response.json().catch(() => undefined)) as { error?: Record<string, unknown> } | undefined;
    if (response.ok) return answer;
    // The owner's refusal, passed on as it is (same code, message and details).
    const { code, message, ...details } = answer?.error ?? {};
    const text = typeof message === 'string' ? message : `node "${owner.node.id}" answered ${response.status}`;
    throw isErrorCode(code) ? new LivefxError(code, text, Object.keys(details).length > 0 ? { details } : {}) : new LivefxError('owner_unreachable', text);
  }

  /** The owner's response, or why it gave none (it did not answer at all). */
  private async send(owner: { node: NodeInfo }, streamId: string, request: OwnerRequest): Promise<{ response: Response } | { failure: unknown }> {
    try {
      const response = await fetch(`${owner.node.url}${request.path}`, {
        method: request.method,
        headers: {
          [FORWARD_HEADER]: this.cluster.tokens.sign('operate', streamId),
          [ACTOR_HEADER]: JSON.stringify(request.actor),
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      return { response };
    } catch (failure) {
      return { failure };
    }
  }

  /**
   * Whether a request is an operator request another node passed on for this stream (a valid signed
   * token); if so, its principal becomes the operator it was made for.
   */
  acceptForwarded(request: FastifyRequest, streamId: string): boolean {
    if (!this.cluster.tokens.verify(request.headers[FORWARD_HEADER], 'operate', streamId)) return false;
    const actor = parseActor(request.headers[ACTOR_HEADER]);
    const principal: Principal =
      actor.role === 'admin'
        ? { role: 'admin', ...(actor.tokenId ? { tokenId: actor.tokenId } : {}), label: actor.changedBy }
        : { role: 'operator', tokenId: actor.tokenId ?? '', streamId, label: actor.changedBy };
    request.principal = principal;
    forwardedActors.set(request, actor);
    return true;
  }

  private async owner(streamId: string): Promise<{ record: SharedStreamRecord; node: NodeInfo } | undefined> {
    const cached = this.known.get(streamId);
    if (cached && Date.now() - cached.checkedAt < TRUST_MS) return cached;
    let found: Awaited<ReturnType<NodeCluster['remoteStream']>>;
    try {
      found = await this.cluster.remoteStream(streamId);
    } catch (error) {
      // Redis away: a stream known a moment ago is still served; an unknown one cannot be found.
      if (cached) return cached;
      throw new LivefxError('node_not_ready', `stream "${streamId}" is not on this node, and the node registry (Redis, LIVEFX_REDIS_URL) cannot be reached to find its owner; try again shortly`, { cause: error });
    }
    if (!found) {
      this.known.delete(streamId);
      return undefined;
    }
    const entry = { ...found, checkedAt: Date.now() };
    this.known.set(streamId, entry);
    return entry;
  }
}

/**
 * An HTTP request for a stream this node does not have, passed on to the node that owns it (access was
 * checked here); undefined when it is for this node (the stream is here, there is no cluster, or no
 * other node owns it: the route answers as it would alone).
 */
export async function passOnToOwner(request: FastifyRequest<{ Params: { id: string } }>, remote: RemoteStreams | undefined, isHere: boolean): Promise<{ answer: unknown } | undefined> {
  const id = request.params.id;
  if (isHere || !remote || forwardedActors.has(request) || !(await remote.find(id))) return undefined;
  const actor = actorOf(request.principal, `http ${request.ip} via node ${remote.nodeId}`);
  const method = request.method as OwnerRequest['method'];
  return { answer: await remote.forward(id, { method, path: request.url.split('?')[0]!, actor, ...(request.body === undefined ? {} : { body: request.body }) }) };
}

function parseActor(header: unknown): ForwardedActor {
  try {
    const actor = JSON.parse(typeof header === 'string' ? header : '') as Partial<ForwardedActor>;
    return { role: actor.role === 'admin' ? 'admin' : 'operator', ...(typeof actor.tokenId === 'string' ? { tokenId: actor.tokenId } : {}), changedBy: typeof actor.changedBy === 'string' ? actor.changedBy : 'another node' };
  } catch {
    return { role: 'operator', changedBy: 'another node' };
  }
}
