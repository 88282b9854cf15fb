import { pino, type Logger } from 'pino';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Structured JSON logs on stdout; writes are asynchronous so logging never stalls a request. */
export function createLogger(level: LogLevel, destination: string | number = 1): Logger {
  return pino(
    { level, base: { service: 'kumo' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: destination, sync: false, minLength: 4096 }),
  );
}
