import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../../core/logger.js';
import type { Sfu } from '../sfu/sfu.js';
import type { LiveStream } from '../streams/live-stream.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { LivefxError } from '../../core/errors.js';
import { findStream } from './stream-routes.js';
import { REDIRECT_PARAM, sendRedirect, type ClusterRedirects } from '../cluster/cluster-redirects.js';
import type { ViewerRelays } from '../cluster/viewer-relays.js';
import type { StreamTakeover } from '../cluster/stream-takeover.js';

/** This node's WebRTC viewer capacity (LIVEFX_MAX_VIEWERS) and, with several nodes, the streams it relays. */
export interface ViewerCapacity {
  /** Whether this node may serve one more WebRTC viewer now. */
  hasRoom(): boolean;
  relays?: ViewerRelays;
  /** A draining node relays no new viewer (those it relays go on); they are sent to another node or refused. */
  draining?: () => boolean;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

function sdpBody(body: unknown): string {
  if (typeof body !== 'string' || body.length === 0) {
    throw new LivefxError('invalid_sdp', 'the request body must be an SDP offer sent as Content-Type: application/sdp');
  }
  return body;
}

function sendAnswer(reply: FastifyReply, location: string, answerSdp: string): FastifyReply {
  return reply.code(201).header('Content-Type', 'application/sdp').header('Location', location).send(answerSdp);
}

/** WebRTC viewers (original and processed) are capped per stream: each costs the server an RTP copy and a DTLS session. */
function assertRoomForViewer(stream: LiveStream): void {
  if (stream.webrtcViewers < stream.maxWebrtcViewers) return;
  throw new LivefxError('too_many_viewers', `this stream already has ${stream.webrtcViewers} WebRTC viewers, the most allowed (LIVEFX_MAX_VIEWERS_PER_STREAM); watch over HLS instead (/watch?stream=${stream.id}&mode=hls)`);
}

/**
 * WHIP (RFC 9725) for publishing and WHEP for WebRTC playback, with non-trickle ICE. With `redirects`
 * (several nodes), a POST for a stream another node owns is redirected there (or, its owner being
 * full, relayed through this node or another), and session URLs are absolute; with `takeover`, a WHIP
 * POST for a stream whose node died takes it over here.
 */
export function registerSignallingRoutes(
  app: FastifyInstance,
  registry: StreamRegistry,
  sfu: Sfu,
  log: Logger,
  limits: { sdpMaxBytes: number },
  redirects?: ClusterRedirects,
  capacity: ViewerCapacity = { hasRoom: () => true },
  takeover?: StreamTakeover,
): void {
  const base = redirects?.baseUrl ?? '';
  app.addContentTypeParser(['application/sdp', 'application/trickle-ice-sdpfrag'], { parseAs: 'string', bodyLimit: limits.sdpMaxBytes }, (_request, body, done) =>
    done(null, body),
  );

  app.post<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/whip/:id', async (request, reply) => {
    const token = bearerToken(request.headers.authorization);
    if (redirects && !registry.get(request.params.id)) {
      const owner = await redirects.whip(request.params.id, token);
      if (owner) return sendRedirect(reply, owner);
      // No alive node owns it: a stream whose node died is taken over here for its publisher.
      await takeover?.takeOver(request.params.id, token);
    }
    const stream = findStream(registry, request.params.id);
    // Redirected here by another node, which checked the key: its signed token stands for it.
    const redirected = redirects?.accepts(request.query[REDIRECT_PARAM], 'whip', stream.id) ?? false;
    if (!token && !redirected) throw new LivefxError('unauthorized', 'publishing needs the stream key as "Authorization: Bearer <streamKey>"');
    if (!redirected && !stream.keyMatches(token ?? '')) throw new LivefxError('unauthorized', 'the stream key is wrong');
    if (stream.state === 'ended') throw new LivefxError('stream_ended', 'this stream has ended; create a new one');
    if (stream.publishing) throw new LivefxError('already_publishing', 'this stream already has a publisher');
    const offer = sdpBody(request.body);
    const { publisher, answerSdp } = await sfu.createPublisher(offer);
    const sessionId = randomUUID();
    try {
      stream.attachPublisher(publisher, sessionId);
    } catch (error) {
      // Another publisher won the race (already_publishing) or the stream ended meanwhile (stream_ended).
      await publisher.close();
      throw error;
    }
    log.info({ streamId: stream.id, sessionId }, 'publisher connected over WHIP');
    return sendAnswer(reply, `${base}/whip/${stream.id}/${sessionId}`, answerSdp);
  });

  app.delete<{ Params: { id: string; session: string } }>('/whip/:id/:session', async (request, reply) => {
    const stream = findStream(registry, request.params.id);
    if (!stream.ownsPublisherSession(request.params.session)) throw new LivefxError('session_not_found', 'no such WHIP session');
    await stream.end('publisher left (WHIP DELETE)');
    return reply.code(200).send({ ok: true });
  });

  app.patch('/whip/:id/:session', async () => {
    throw new LivefxError('trickle_not_supported', 'livefx uses non-trickle ICE: send all candidates in the offer');
  });

  app.post<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/whep/:id', async (request, reply) => {
    const source = request.query.source ?? 'processed';
    if (source !== 'processed' && source !== 'original') {
      throw new LivefxError('invalid_request', 'source: must be "processed" or "original"');
    }
    if (redirects && !registry.get(request.params.id)) {
      const route = await redirects.whep(request.params.id, request.principal, request.query, capacity.hasRoom() && capacity.relays !== undefined && !(capacity.draining?.() ?? false));
      if (route && 'redirect' in route) return sendRedirect(reply, route.redirect);
      if (route && capacity.relays) {
        const { subscriber, answerSdp } = await capacity.relays.join(request.params.id, route.relayFrom, sdpBody(request.body));
        log.info({ streamId: request.params.id, ownerId: route.relayFrom.id, sessionId: subscriber.id }, 'viewer served through this node\'s relay');
        return sendAnswer(reply, `${base}/whep/${request.params.id}/${subscriber.id}`, answerSdp);
      }
    }
    const stream = findStream(registry, request.params.id);
    if (stream.state === 'ended') throw new LivefxError('stream_ended', 'this stream has ended');
    // A relay node's one subscription (node to node) is never turned away for the owner's viewer capacity.
    if (!capacity.hasRoom() && !(redirects?.accepts(request.query[REDIRECT_PARAM], 'upstream', stream.id) ?? false)) {
      if (!redirects || source === 'original') throw new LivefxError('no_capacity', `this node serves as many WebRTC viewers as it may (LIVEFX_MAX_VIEWERS); watch over HLS (/watch?stream=${stream.id}&mode=hls) or try again shortly`);
      return sendRedirect(reply, await redirects.relayElsewhere(stream.id, request.query));
    }
    if (source === 'original' && !stream.publisherCodec) {
      throw new LivefxError('not_live', 'the original stream can be watched once the publisher sends media');
    }
    const offer = sdpBody(request.body);
    assertRoomForViewer(stream);
    const { subscriber, answerSdp } = await sfu.createSubscriber(offer, source === 'original' ? stream.publisherCodec : 'H264');
    // Other offers may have been answered while this one was negotiated.
    try {
      assertRoomForViewer(stream);
    } catch (error) {
      await subscriber.close();
      throw error;
    }
    stream.addSubscriber(subscriber, source);
    return sendAnswer(reply, `${base}/whep/${stream.id}/${subscriber.id}`, answerSdp);
  });

  app.delete<{ Params: { id: string; session: string } }>('/whep/:id/:session', async (request, reply) => {
    const relay = capacity.relays?.relayWith(request.params.id, request.params.session);
    if (relay) {
      await relay.remove(request.params.session);
      return reply.code(200).send({ ok: true });
    }
    const stream = findStream(registry, request.params.id);
    if (!stream.hasSubscriber(request.params.session)) throw new LivefxError('session_not_found', 'no such WHEP session');
    await stream.removeSubscriber(request.params.session);
    return reply.code(200).send({ ok: true });
  });

  app.patch('/whep/:id/:session', async () => {
    throw new LivefxError('trickle_not_supported', 'livefx uses non-trickle ICE: send all candidates in the offer');
  });
}
