import { pino, type Logger } from 'pino';
import { LogDestination } from './log-destination.js';

export type { Logger };

/** The server's logger: JSON lines on standard output, through a destination that survives a dead reader. */
export function createLogger(level: string, destination?: LogDestination): Logger {
  if (level === 'silent') return pino({ level });
  return pino({ level, base: { service: 'livefx' } }, destination ?? new LogDestination({ fd: 1 }));
}
