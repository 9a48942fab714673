import { pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Fields on every line (service instance, worker kinds, ...). */
  base?: Record<string, unknown>;
}

/**
 * JSON logs on stdout. With telemetry on, the pino instrumentation adds `trace_id`/`span_id` to every
 * line written inside a span and also sends the record over OTLP. Import this only after telemetry has
 * started (pino is hooked at import time).
 */
export function createLogger(options: LoggerOptions): import('pino').Logger {
  return pino({
    name: options.name,
    level: options.level ?? 'info',
    base: { ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        '*.apiKey',
        '*.authorization',
        '*.password',
        'headers.authorization',
        'req.headers.authorization',
      ],
      censor: '[REDACTED]',
    },
  });
}
