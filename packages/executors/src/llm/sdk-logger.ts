import type { Logger } from '@flowtrace/workflow';

/** The logger shape both official SDKs accept (message first). */
export interface SdkLogger {
  error(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  debug(message: string, ...rest: unknown[]): void;
}

/**
 * Bridges an SDK's console-style logging to our structured logger. Only the message is forwarded: the
 * extra arguments can hold request options, which we keep out of logs.
 */
export function sdkLogger(logger: Logger, provider: string): SdkLogger {
  const bindings = { provider, source: 'sdk' };
  return {
    error: (message) => logger.error(bindings, message),
    warn: (message) => logger.warn(bindings, message),
    info: (message) => logger.info(bindings, message),
    debug: (message) => logger.debug(bindings, message),
  };
}
