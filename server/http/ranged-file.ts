import { createReadStream } from 'node:fs';
import type { FastifyReply } from 'fastify';
import { LivefxError } from '../../core/errors.js';

/** Serves a file whole (200) or one byte range of it (206); a range past the end is 416 with `Content-Range: bytes *\/size`. */
export function sendRangedFile(reply: FastifyReply, range: string | undefined, file: string, size: number, contentType: string, cacheControl = 'no-cache'): FastifyReply {
  reply.header('Accept-Ranges', 'bytes').header('Content-Type', contentType).header('Cache-Control', cacheControl);
  const match = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
  // No range, several ranges or another unit: the whole file is a valid answer (RFC 9110 section 14.2).
  // Bounded to the size given: a file that grew since the caller's stat sends no more than its Content-Length promised.
  if (!match || (match[1] === '' && match[2] === '')) return reply.header('Content-Length', size).send(size === 0 ? Buffer.alloc(0) : createReadStream(file, { start: 0, end: size - 1 }));
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    start = suffix === 0 ? size : Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) {
    // The error handler keeps this header (it replaces only the content type) and answers 416 `range_not_satisfiable`.
    reply.header('Content-Range', `bytes */${size}`);
    throw new LivefxError('range_not_satisfiable', `the range "${range}" lies outside the file's ${size} bytes`);
  }
  return reply
    .code(206)
    .header('Content-Range', `bytes ${start}-${end}/${size}`)
    .header('Content-Length', end - start + 1)
    .send(createReadStream(file, { start, end }));
}
