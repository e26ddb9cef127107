import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { LivefxConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { LivefxMetrics } from '../metrics.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type { StreamDirectory } from '../../core/stream-directory.js';
import { LocalStreamDirectory } from '../../core/local-stream-directory.js';
import { LiveStream } from './live-stream.js';
import type { StreamVisibility } from './stream-view.js';

export type StreamRegistryEvents = {
  /** A stream was created (idle until its publisher connects). */
  newstream: [stream: LiveStream];
  /** A stream ended for good. */
  streamclosed: [stream: LiveStream];
};

export interface StreamRegistryOptions {
  config: LivefxConfig;
  metrics: LivefxMetrics;
  log: Logger;
  /** Where this node claims the streams it creates (in-process by default; Redis for multi-node). */
  directory?: StreamDirectory;
}

/** All streams of this server, by id; observers learn of every stream created and ended. */
export class StreamRegistry extends TypedEmitter<StreamRegistryEvents> {
  private readonly streams = new Map<string, LiveStream>();
  private readonly config: LivefxConfig;
  private readonly metrics: LivefxMetrics;
  private readonly log: Logger;
  readonly directory: StreamDirectory;

  constructor(options: StreamRegistryOptions) {
    super();
    ({ config: this.config, metrics: this.metrics, log: this.log } = options);
    this.directory = options.directory ?? new LocalStreamDirectory();
    this.listenerError = (event, error) => this.log.error({ err: error, event }, 'stream registry listener failed');
  }

  /**
   * `record: false` keeps this stream out of the recorder. `id` and `streamKey` are given only when this node
   * takes over a stream whose node died (it has claimed the id already); otherwise both are new.
   */
  create(title: string, options: { record?: boolean; visibility?: StreamVisibility; id?: string; streamKey?: string } = {}): LiveStream {
    const id = options.id ?? randomBytes(6).toString('hex');
    const hlsDir = path.join(this.config.LIVEFX_DATA_DIR, 'hls', id);
    const stream = new LiveStream({ id, title, settings: this.config, hlsDir, metrics: this.metrics, log: this.log, record: options.record ?? true, visibility: options.visibility ?? 'public', ...(options.streamKey ? { streamKey: options.streamKey } : {}) });
    this.streams.set(id, stream);
    // The id is new, so the claim cannot collide; a directory that fails is logged (this node still serves the stream).
    this.directory.claim(id).then(
      (claim) => {
        if (!claim.claimed) this.log.error({ streamId: id, owner: claim.owner.nodeId }, 'stream directory: another node claims this new stream');
      },
      (error: unknown) => this.log.error({ err: error, streamId: id }, 'stream directory: the claim failed'),
    );
    const onState = (state: string): void => {
      if (state !== 'ended') return;
      stream.off('state', onState);
      this.directory.release(id).catch((error: unknown) => this.log.error({ err: error, streamId: id }, 'stream directory: the release failed'));
      this.safeEmit('streamclosed', stream);
    };
    stream.on('state', onState);
    this.safeEmit('newstream', stream);
    return stream;
  }

  /** LIVEFX_MAX_STREAMS: how many streams may be open (not ended) at once. */
  get maxStreams(): number {
    return this.config.LIVEFX_MAX_STREAMS;
  }

  /** Streams that are idle or live. */
  openCount(): number {
    let open = 0;
    for (const stream of this.streams.values()) if (stream.state !== 'ended') open++;
    return open;
  }

  get(id: string): LiveStream | undefined {
    return this.streams.get(id);
  }

  list(): LiveStream[] {
    return [...this.streams.values()];
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.list().map((stream) => stream.end('server shutting down')));
  }
}
