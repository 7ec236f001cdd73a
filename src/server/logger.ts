/**
 * Structured logs with pino. Secrets must never reach a log line, so redaction is configured
 * here once, and the request logger records only method, path, status and duration.
 */
import type { MiddlewareHandler } from 'hono';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level?: Level | 'silent';
  /** Human-readable lines for a terminal; JSON (one object per line) otherwise. */
  pretty?: boolean;
  /** Where lines go; stdout when absent. Tests pass an in-memory stream. */
  destination?: DestinationStream;
  /**
   * Blanks secret values out of every line, wherever they appear (src/core/secrets/redact.ts). The
   * engine adds each value it resolves to the same redactor, so a value that finds its way into an
   * error message or a logged object is never written.
   */
  redactor?: { redact(text: string): string };
}

/** Paths pino blanks out wherever they appear in a logged object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
];

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.pretty
    ? // sync: lines appear in order with other terminal output and are not lost on exit.
      pretty({ destination: options.destination ?? 1, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : (options.destination ?? pino.destination(1));
  const redactor = options.redactor;
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // On the serialised line, before any destination (pretty or JSON) sees it.
      ...(redactor ? { hooks: { streamWrite: (line: string) => redactor.redact(line) } } : {}),
    },
    destination,
  );
}

/** One line per request. Headers and query strings are left out on purpose: they can carry credentials. */
export function requestLogger(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const status = c.res.status;
    const line = { method: c.req.method, path: c.req.path, status, ms };
    if (status >= 500) logger.error(line, 'request');
    else logger.info(line, 'request');
  };
}
