import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Logger } from '../logger.js';
import { JobCancelledError } from '../process/process-runner.js';
import { MEDIA_TOKEN_HEADER, type MediaToken, type MediaTokenPurpose } from './media-token.js';

export interface RemoteMediaOptions {
  token: MediaToken;
  /** Where fetched media is kept between jobs (`$LIVEFX_DATA_DIR/media-cache`). */
  cacheDir: string;
  /** LIVEFX_NODE_URL of this process, if it is a node: its own jobs read local files. */
  selfUrl?: string | undefined;
  /** Give up on a node after this long without a byte of progress (LIVEFX_MEDIA_RETRY_S). */
  retryS: number;
  /** Size limit of the cache (LIVEFX_MEDIA_CACHE_MB): the least recently used files go above it. */
  cacheMaxBytes?: number;
  /** A file used more recently than this is kept even above the limit: a running job may open it again (default 15 min). */
  cacheGraceMs?: number;
  log: Logger;
}

/** Where a job's outputs are published on the node: highlights/<job>/ or studio/renders/<job>/. */
export type OutputArea = 'highlights' | 'renders';
/** Input files of the data directory a job may name (image assets, music tracks, LUTs). */
export type InputArea = 'images' | 'audio' | 'luts';

export interface FetchedMedia {
  file: string;
  bytes: number;
  contentType: string;
}

/** A failure worth trying again (connection lost, node restarting); anything else fails the job at once. */
class RetryableError extends Error {}

/** A node's refusal of an internal media request (4xx other than 408/429): not worth retrying. */
export class RemoteMediaRefusal extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

const MAX_BACKOFF_MS = 5000;

/**
 * A worker's side of media between machines: downloads a job's inputs from the node that enqueued it
 * (Range requests, resumed after a dropped connection, kept in a local cache validated by ETag) and
 * uploads its outputs back there, retrying while the node is away for up to `retryS` without progress.
 */
export class RemoteMedia {
  private readonly inFlight = new Map<string, Promise<FetchedMedia>>();

  constructor(private readonly options: RemoteMediaOptions) {}

  /** Whether a job from `origin` has its media elsewhere (not enqueued here, not a local job). */
  isRemote(origin: string | undefined): origin is string {
    return origin !== undefined && origin !== this.options.selfUrl;
  }

  /** A recording's media (the node's export, or the imported file), as a local file. */
  recording(origin: string, recordingId: string, kind: string, signal: AbortSignal): Promise<FetchedMedia> {
    const scope = `recordings/${recordingId}/${kind}`;
    return this.fetchOnce(origin, scope, scope, '', signal);
  }

  /** A file of the node's images/, audio/ or luts/ folder, as a local file. */
  async input(origin: string, area: InputArea, name: string, signal: AbortSignal): Promise<string> {
    const scope = `files/${area}/${name}`;
    return (await this.fetchOnce(origin, scope, scope, path.extname(name), signal)).file;
  }

  /** Downloads one published output file of a job (a reel job needs its clips) to `target`. */
  async output(origin: string, area: OutputArea, jobId: string, name: string, target: string, signal: AbortSignal): Promise<void> {
    const fetched = await this.fetchOnce(origin, `outputs/${area}/${jobId}/${name}`, `outputs/${area}/${jobId}`, path.extname(name), signal);
    await mkdir(path.dirname(target), { recursive: true });
    await pipeline(createReadStream(fetched.file), createWriteStream(target));
  }

  /**
   * One published output file of a job, straight from the node that holds it (Range passed on), for
   * another node to relay to a client: any node serves any job's results. Refusals throw as in `request`.
   */
  openOutput(origin: string, area: OutputArea, jobId: string, name: string, range: string | undefined, signal: AbortSignal): Promise<Response> {
    return this.request(origin, `outputs/${area}/${jobId}/${name}`, 'media-read', `outputs/${area}/${jobId}`, signal, { method: 'GET', headers: range ? { range } : {} });
  }

  /** Uploads every file of `dir` to the job's output folder on the node (each file whole, retried while the node is away). */
  async publish(origin: string, area: OutputArea, jobId: string, dir: string, signal: AbortSignal): Promise<void> {
    const scope = `outputs/${area}/${jobId}`;
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.includes('.partial')) continue;
      const file = path.join(dir, entry.name);
      const bytes = (await stat(file)).size;
      await this.retrying(origin, signal, async () => {
        const response = await this.request(origin, `${scope}/${entry.name}`, 'media-write', scope, signal, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
          body: Readable.toWeb(createReadStream(file)) as unknown as ReadableStream,
          duplex: 'half',
        });
        await response.arrayBuffer();
        return true;
      });
    }
    this.options.log.info({ origin, area, jobId, files: entries.length }, 'job outputs published to their node');
  }

  /** One download per file at a time in this process: a second job asking waits for the first. */
  private fetchOnce(origin: string, remotePath: string, scope: string, extension: string, signal: AbortSignal): Promise<FetchedMedia> {
    const key = createHash('sha256').update(`${origin}\n${remotePath}`).digest('hex').slice(0, 40);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.download(origin, remotePath, scope, path.join(this.options.cacheDir, `${key}${extension}`), signal).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async download(origin: string, remotePath: string, scope: string, file: string, signal: AbortSignal): Promise<FetchedMedia> {
    await mkdir(this.options.cacheDir, { recursive: true });
    const part = `${file}.part`;
    const readMeta = async (name: string): Promise<{ etag: string; contentType: string } | undefined> =>
      readFile(name, 'utf8').then((text) => JSON.parse(text) as { etag: string; contentType: string }).catch(() => undefined);
    const complete = await readMeta(`${file}.json`);
    let partial = complete ? undefined : await readMeta(`${part}.json`);
    return this.retrying(origin, signal, async (progressed) => {
      const have = partial ? ((await stat(part).catch(() => undefined))?.size ?? 0) : 0;
      const headers: Record<string, string> = {};
      if (complete) headers['if-none-match'] = complete.etag;
      else if (partial && have > 0) Object.assign(headers, { range: `bytes=${have}-`, 'if-range': partial.etag });
      const response = await this.request(origin, remotePath, 'media-read', scope, signal, { headers }).catch((error: unknown) => {
        // A node that is away does not stop a job whose input is already here.
        if (complete && error instanceof RetryableError) return undefined;
        throw error;
      });
      if (!response || (response.status === 304 && complete)) {
        await response?.arrayBuffer();
        // Used now: the cache evicts by last use.
        const now = new Date();
        await utimes(file, now, now);
        return { file, bytes: (await stat(file)).size, contentType: complete!.contentType };
      }
      if (response.status === 304 || !response.body) throw new Error(`${remotePath}: the node sent no body`);
      const etag = response.headers.get('etag') ?? '';
      const contentType = response.headers.get('content-type') ?? 'application/octet-stream';
      const resumed = response.status === 206;
      const total = resumed ? Number(/\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1]) : Number(response.headers.get('content-length'));
      if (!resumed) await rm(part, { force: true });
      partial = { etag, contentType };
      await writeFile(`${part}.json`, JSON.stringify(partial));
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          progressed();
          done(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>), counter, createWriteStream(part, { flags: resumed ? 'a' : 'w' }), { signal });
      const bytes = (await stat(part)).size;
      if (Number.isFinite(total) && bytes !== total) throw new RetryableError(`${remotePath}: got ${bytes} of ${total} bytes`);
      await rename(part, file);
      await writeFile(`${file}.json`, JSON.stringify(partial));
      await rm(`${part}.json`, { force: true });
      await this.evict(file);
      return { file, bytes, contentType };
    });
  }

  /** Removes the least recently used cached files (never `keep`, never one being fetched) until the cache fits its limit. */
  private async evict(keep: string): Promise<void> {
    const limit = this.options.cacheMaxBytes;
    if (limit === undefined) return;
    const dir = this.options.cacheDir;
    const names = (await readdir(dir)).filter((name) => !name.endsWith('.json') && !name.endsWith('.part'));
    const files = (await Promise.all(names.map(async (name) => ({ file: path.join(dir, name), info: await stat(path.join(dir, name)).catch(() => undefined) })))).flatMap(({ file, info }) =>
      info ? [{ file, bytes: info.size, usedMs: info.mtimeMs }] : [],
    );
    let total = files.reduce((sum, entry) => sum + entry.bytes, 0);
    const busy = new Set([...this.inFlight.keys()].map((key) => path.join(dir, key)));
    const recent = Date.now() - (this.options.cacheGraceMs ?? 15 * 60_000);
    for (const entry of files.sort((a, b) => a.usedMs - b.usedMs)) {
      if (total <= limit) break;
      if (entry.file === keep || entry.usedMs > recent || busy.has(entry.file.replace(/\.[^./]*$/, ''))) continue;
      await rm(`${entry.file}.json`, { force: true });
      await rm(entry.file, { force: true });
      total -= entry.bytes;
      this.options.log.info({ file: path.basename(entry.file), bytes: entry.bytes }, 'media cache: least recently used file evicted');
    }
  }

  private async request(origin: string, remotePath: string, purpose: MediaTokenPurpose, scope: string, signal: AbortSignal, init: RequestInit & { duplex?: 'half' }): Promise<Response> {
    const url = `${origin}/internal/media/${remotePath.split('/').map(encodeURIComponent).join('/')}`;
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal, headers: { ...(init.headers as Record<string, string>), [MEDIA_TOKEN_HEADER]: this.options.token.sign(purpose, scope) } });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new RetryableError(`${url}: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`);
    }
    if (response.ok || response.status === 304) return response;
    const text = await response.text().catch(() => '');
    const message = `${init.method ?? 'GET'} ${url} answered ${response.status}${text ? `: ${(/"message":"([^"]*)"/.exec(text)?.[1] ?? text).slice(0, 300)}` : ''}`;
    // A node starting again, overloaded or behind a restarting proxy is worth waiting for; a refusal is not.
    if (response.status >= 500 || response.status === 408 || response.status === 429) throw new RetryableError(message);
    throw new RemoteMediaRefusal(message, response.status);
  }

  /** Runs `attempt` until it succeeds, retrying connection failures with backoff until `retryS` pass without progress. */
  private async retrying<T>(origin: string, signal: AbortSignal, attempt: (progressed: () => void) => Promise<T>): Promise<T> {
    let lastProgress = Date.now();
    let backoffMs = 250;
    let warned = false;
    for (;;) {
      if (signal.aborted) throw new JobCancelledError('cancelled');
      try {
        return await attempt(() => {
          lastProgress = Date.now();
          backoffMs = 250;
        });
      } catch (error) {
        if (signal.aborted) throw new JobCancelledError('cancelled');
        const retryable = error instanceof RetryableError || (error as NodeJS.ErrnoException).code === 'ECONNRESET' || (error instanceof Error && /terminated|other side closed|socket/i.test(error.message));
        if (!retryable) throw error;
        if (Date.now() - lastProgress > this.options.retryS * 1000) throw new Error(`node ${origin} could not be reached for ${this.options.retryS} s (LIVEFX_MEDIA_RETRY_S): ${(error as Error).message}`);
        if (!warned) this.options.log.warn({ origin, err: (error as Error).message }, 'node unreachable: retrying the job media transfer');
        warned = true;
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
      }
    }
  }
}
