import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { LivefxConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { LivefxMetrics } from '../metrics.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
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
}

/** All streams of this server, by id; observers learn of every stream created and ended. */
export class StreamRegistry extends TypedEmitter<StreamRegistryEvents> {
  private readonly streams = new Map<string, LiveStream>();
  private readonly config: LivefxConfig;
  private readonly metrics: LivefxMetrics;
  private readonly log: Logger;

  constructor(options: StreamRegistryOptions) {
    super();
    ({ config: this.config, metrics: this.metrics, log: this.log } = options);
    this.listenerError = (event, error) => this.log.error({ err: error, event }, 'stream registry listener failed');
  }

  /** `record: false` keeps this stream out of the recorder. */
  create(title: string, options: { record?: boolean; visibility?: StreamVisibility } = {}): LiveStream {
    const id = randomBytes(6).toString('hex');
    const hlsDir = path.join(this.config.LIVEFX_DATA_DIR, 'hls', id);
    const stream = new LiveStream(id, title, this.config, hlsDir, this.metrics, this.log, options.record ?? true, options.visibility ?? 'public');
    this.streams.set(id, stream);
    const onState = (state: string): void => {
      if (state !== 'ended') return;
      stream.off('state', onState);
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
