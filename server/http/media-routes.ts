import { open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { LivefxError } from '../../core/errors.js';
import { findStream } from './stream-routes.js';
import { sendRedirect, type ClusterRedirects } from '../cluster/cluster-redirects.js';
import { LL_HLS_FILE, type LowLatencyPlaylist } from '../pipeline/low-latency-playlist.js';
import type { HlsProxy } from '../cluster/hls-proxy.js';
import { requireViewerOf } from '../auth/access.js';

const HLS_FILE = /^(index\.m3u8|(?:ll-)?master\.m3u8|(?:ll-)?captions\.m3u8|segment-\d{1,20}\.ts|(?:ll-)?captions-\d{1,20}\.vtt)$/;

/** A playlist whose every URI (segment lines and `URI="…"` attributes) carries `?token=`: private streams' links reach each segment. */
export function withToken(playlist: string, token: string): string {
  const query = `token=${encodeURIComponent(token)}`;
  const add = (uri: string): string => `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
  return playlist
    .split('\n')
    .map((line) => (line.startsWith('#') ? line.replace(/URI="([^"]*)"/g, (_match, uri: string) => `URI="${add(uri)}"`) : line.trim() === '' ? line : add(line)))
    .join('\n');
}

/** `_HLS_msn` / `_HLS_part`: absent, or a whole number ≥ 0 (anything else is refused, as the LL-HLS spec asks). */
function blockingParam(query: Record<string, unknown>, name: '_HLS_msn' | '_HLS_part'): number | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw new LivefxError('invalid_query', `${name} must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return Number(value);
}

const CAPTIONS_SEGMENT = /^((?:ll-)?captions)-\d{1,20}\.vtt$/;
/** How often a held captions segment request looks for the file. */
const HELD_POLL_MS = 50;

/**
 * A captions segment its playlist names ahead of writing it (LL-HLS lists the next two): the request is held
 * until the segment is written, at most three target durations and 3 s; it is then opened. Undefined when the
 * playlist does not name it, the wait ran out or the client went away.
 */
async function heldCaptionsSegment(dir: string, file: string, gone: () => boolean): Promise<OpenedFile | undefined> {
  const rendition = CAPTIONS_SEGMENT.exec(file)?.[1];
  if (!rendition) return undefined;
  const playlist = await readFile(path.join(dir, `${rendition}.m3u8`), 'utf8').catch(() => '');
  if (!playlist.includes(`\n${file}\n`)) return undefined;
  const targetS = Number(/^#EXT-X-TARGETDURATION:(\d+)$/m.exec(playlist)?.[1] ?? 1);
  const deadline = Date.now() + 3 * targetS * 1000 + 3000;
  while (Date.now() < deadline && !gone()) {
    await new Promise((resolve) => setTimeout(resolve, HELD_POLL_MS));
    const opened = await openNow(path.join(dir, file));
    if (opened) return opened;
  }
  return undefined;
}

const MP4_HEADERS = { 'Content-Type': 'video/mp4', 'Cache-Control': 'max-age=60' } as const;

/** LL-HLS from the stream's in-memory playlist: ll.m3u8 (blocking reload), init segments, whole segments and parts (the preload hint is held until it exists). */
async function sendLowLatency(reply: FastifyReply, playlist: LowLatencyPlaylist, match: RegExpExecArray, query: Record<string, unknown>, ended: boolean): Promise<FastifyReply> {
  const [file, mapId, segmentMsn, partMsn, partIndex] = match;
  if (file === 'll.m3u8') {
    const text = await playlist.playlist(blockingParam(query, '_HLS_msn'), blockingParam(query, '_HLS_part'));
    const token = query.token;
    return reply
      .header('Content-Type', 'application/vnd.apple.mpegurl')
      .header('Cache-Control', 'no-cache')
      .send(typeof token === 'string' && token.length > 0 ? withToken(text, token) : text);
  }
  const bytes =
    mapId !== undefined ? playlist.initBytes(Number(mapId))
    : segmentMsn !== undefined ? playlist.segmentBytes(Number(segmentMsn))
    : await playlist.part(Number(partMsn), Number(partIndex));
  if (!bytes) throw new LivefxError('not_ready', ended ? 'the stream has ended' : `"${file}" is not available (not yet, or no longer)`);
  return reply.headers(MP4_HEADERS).header('Content-Length', bytes.length).send(bytes);
}

/**
 * Serves each stream's HLS playlist and segments from its folder; only names the muxer writes are served.
 * With captions on there are also `master.m3u8` (index.m3u8 plus a subtitles rendition), `captions.m3u8` and its WebVTT segments,
 * and the same for LL-HLS: `ll-master.m3u8` (ll.m3u8 plus `ll-captions.m3u8`) and its `ll-captions-N.vtt` segments.
 * `ll.m3u8` and its `ll-…` files are LL-HLS, served from memory. A captions segment the playlist names before it
 * is written is held until it is.
 */
export function registerMediaRoutes(app: FastifyInstance, registry: StreamRegistry, redirects?: ClusterRedirects, proxy?: HlsProxy): void {
  app.get<{ Params: { id: string; file: string } }>('/hls/:id/:file', async (request, reply) => {
    if (redirects && !registry.get(request.params.id)) {
      const remote = await redirects.remote(request.params.id);
      // Another node's stream: fetched from it here (LIVEFX_CLUSTER_VIEWERS=serve), or redirected there (players then resolve the segments against the owner's playlist URL).
      if (remote && proxy) {
        if (!HLS_FILE.test(request.params.file) && !LL_HLS_FILE.test(request.params.file)) throw new LivefxError('not_found', `no HLS file "${request.params.file}"`);
        requireViewerOf(request.principal, remote.record, 'HLS');
        return proxy.send(reply, remote, request.params.file, request.query as Record<string, unknown>);
      }
      if (remote) return sendRedirect(reply, `${remote.node.url}${request.url}`);
    }
    const stream = findStream(registry, request.params.id);
    const file = request.params.file;
    const lowLatency = LL_HLS_FILE.exec(file);
    if (lowLatency) return sendLowLatency(reply, stream.lowLatencyHls, lowLatency, request.query as Record<string, unknown>, stream.state === 'ended');
    if (!HLS_FILE.test(file)) throw new LivefxError('not_found', `no HLS file "${file}"`);
    const filePath = path.join(stream.hlsDir, file);
    const opened = (await openNow(filePath)) ?? (stream.state === 'ended' ? undefined : await heldCaptionsSegment(stream.hlsDir, file, () => request.raw.socket.destroyed));
    if (!opened) {
      throw new LivefxError('not_ready', stream.state === 'ended' ? 'the stream has ended' : `"${file}" is not available (yet)`);
    }
    const playlist = file.endsWith('.m3u8');
    const type = playlist ? 'application/vnd.apple.mpegurl' : file.endsWith('.vtt') ? 'text/vtt; charset=utf-8' : 'video/mp2t';
    reply.header('Content-Type', type).header('Cache-Control', playlist ? 'no-cache' : 'max-age=60');
    const token = (request.query as { token?: unknown }).token;
    const tokenised = playlist && typeof token === 'string' && token.length > 0;
    if (tokenised || opened.size === 0) {
      const text = await opened.handle.readFile('utf8').finally(() => opened.handle.close());
      // Players resolve segment URIs against the playlist URL without its query: the token is carried into each.
      return reply.send(tokenised ? withToken(text, token) : text);
    }
    // The stream closes the handle when it ends or is destroyed (a client that goes away).
    return reply.header('Content-Length', opened.size).send(opened.handle.createReadStream({ start: 0, end: opened.size - 1 }));
  });
}

interface OpenedFile {
  handle: FileHandle;
  size: number;
}

/**
 * The file as it is at this moment: an open handle and that handle's own size. The muxer replaces its playlists
 * (written aside, then renamed over the old one), so a size taken by path and bytes read by path can belong to
 * two different files; the client then gets more or fewer bytes than the Content-Length promised.
 */
async function openNow(filePath: string): Promise<OpenedFile | undefined> {
  const handle = await open(filePath).catch(() => undefined);
  if (!handle) return undefined;
  try {
    return { handle, size: (await handle.stat()).size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
