import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { LivefxConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { LivefxMetrics } from '../metrics.js';
import { LiveStream } from './live-stream.js';
import type { StreamVisibility } from './stream-view.js';

/** All streams of this server, by id. */
export class StreamRegistry {
  private readonly streams = new Map<string, LiveStream>();
  private readonly createdListeners: ((stream: LiveStream) => void)[] = [];

  constructor(
    private readonly config: LivefxConfig,
    private readonly metrics: LivefxMetrics,
    private readonly log: Logger,
  ) {}

  /** `record: false` keeps this stream out of the recorder. */
  create(title: string, options: { record?: boolean; visibility?: StreamVisibility } = {}): LiveStream {
    const id = randomBytes(6).toString('hex');
    const hlsDir = path.join(this.config.LIVEFX_DATA_DIR, 'hls', id);
    const stream = new LiveStream(id, title, this.config, hlsDir, this.metrics, this.log, options.record ?? true, options.visibility ?? 'public');
    this.streams.set(id, stream);
    for (const listener of this.createdListeners) listener(stream);
    return stream;
  }

  onCreated(listener: (stream: LiveStream) => void): void {
    this.createdListeners.push(listener);
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
