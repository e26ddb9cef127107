import { EventEmitter } from 'node:events';

/** Event name → listener argument tuple. */
export type EventMap = Record<string, unknown[]>;

/**
 * An EventEmitter whose events are a TypeScript type. A listener that throws is reported through
 * the `listenerError` hook instead of breaking the emitter or the code that emitted.
 */
export class TypedEmitter<Events extends EventMap> {
  private readonly emitter = new EventEmitter();
  protected listenerError: (event: string, error: unknown) => void = (event, error) => {
    process.emitWarning(`listener for "${event}" threw: ${error instanceof Error ? error.stack : String(error)}`);
  };

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  on<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  protected safeEmit<E extends keyof Events & string>(event: E, ...args: Events[E]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (...a: Events[E]) => void)(...args);
      } catch (error) {
        this.listenerError(event, error);
      }
    }
  }

  protected removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}
