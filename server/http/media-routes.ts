import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { LivefxError } from '../../core/errors.js';
import { findStream } from './stream-routes.js';
import { sendRedirect, type ClusterRedirects } from '../cluster/cluster-redirects.js';

const HLS_FILE = /^(index\.m3u8|master\.m3u8|captions\.m3u8|segment-\d{1,20}\.ts|captions-\d{1,20}\.vtt)$/;

/** A playlist whose every URI (segment lines and `URI="…"` attributes) carries `?token=`: private streams' links reach each segment. */
export function withToken(playlist: string, token: string): string {
  const query = `token=${encodeURIComponent(token)}`;
  const add = (uri: string): string => `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
  return playlist
    .split('\n')
    .map((line) => (line.startsWith('#') ? line.replace(/URI="([^"]*)"/g, (_match, uri: string) => `URI="${add(uri)}"`) : line.trim() === '' ? line : add(line)))
    .join('\n');
}

/**
 * Serves each stream's HLS playlist and segments from its folder; only names the muxer writes are served.
 * With captions on there are also `master.m3u8` (index.m3u8 plus a subtitles rendition), `captions.m3u8` and its WebVTT segments.
 */
export function registerMediaRoutes(app: FastifyInstance, registry: StreamRegistry, redirects?: ClusterRedirects): void {
  app.get<{ Params: { id: string; file: string } }>('/hls/:id/:file', async (request, reply) => {
    // Another node's stream: redirected there (players resolve the segments against the owner's playlist URL, so only the playlist is redirected).
    const owner = redirects && !registry.get(request.params.id) ? await redirects.passOn(request.params.id, request.url) : undefined;
    if (owner) return sendRedirect(reply, owner);
    const stream = findStream(registry, request.params.id);
    const file = request.params.file;
    if (!HLS_FILE.test(file)) throw new LivefxError('not_found', `no HLS file "${file}"`);
    const filePath = path.join(stream.hlsDir, file);
    const info = await stat(filePath).catch(() => undefined);
    if (!info) {
      throw new LivefxError('not_ready', stream.state === 'ended' ? 'the stream has ended' : `"${file}" is not available (yet)`);
    }
    const playlist = file.endsWith('.m3u8');
    const token = (request.query as { token?: unknown }).token;
    if (playlist && typeof token === 'string' && token.length > 0) {
      // Players resolve segment URIs against the playlist URL without its query: the token is carried into each.
      return reply
        .header('Content-Type', 'application/vnd.apple.mpegurl')
        .header('Cache-Control', 'no-cache')
        .send(withToken(await readFile(filePath, 'utf8'), token));
    }
    return reply
      .header('Content-Type', playlist ? 'application/vnd.apple.mpegurl' : file.endsWith('.vtt') ? 'text/vtt; charset=utf-8' : 'video/mp2t')
      .header('Cache-Control', playlist ? 'no-cache' : 'max-age=60')
      .header('Content-Length', info.size)
      .send(createReadStream(filePath));
  });
}
