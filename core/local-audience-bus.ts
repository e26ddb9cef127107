import type { AudienceBus, AudienceBusListener, AudienceBusMessage } from './audience-bus.js';
import { TypedEmitter } from './typed-emitter.js';

export interface LocalAudienceBusOptions {
  /** Defaults to `local`. */
  nodeId?: string;
  /** A subscriber that threw (the others still get the message). */
  onListenerError?: (error: unknown) => void;
}

/** The in-process audience bus: delivery is synchronous, inside publish(), so a single server behaves as if there were no bus. */
export class LocalAudienceBus extends TypedEmitter<{ message: [message: AudienceBusMessage] }> implements AudienceBus {
  readonly nodeId: string;
  private isClosed = false;

  constructor(options: LocalAudienceBusOptions = {}) {
    super();
    this.nodeId = options.nodeId ?? 'local';
    const onListenerError = options.onListenerError;
    if (onListenerError) this.listenerError = (_event, error) => onListenerError(error);
  }

  async publish(message: Omit<AudienceBusMessage, 'origin'>): Promise<void> {
    if (this.isClosed) return;
    this.safeEmit('message', { ...message, origin: this.nodeId });
  }

  subscribe(listener: AudienceBusListener): () => void {
    this.on('message', listener);
    return () => this.off('message', listener);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.removeAllListeners();
  }
}
