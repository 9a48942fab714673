import type { ErrorCode } from './error-codes.ts';
import { FlowtraceError, type FlowtraceErrorOptions } from './flowtrace-error.ts';

/**
 * A failure that will fail again if retried: bad input, a provider's 4xx, a blocked URL. The engine
 * maps it to BullMQ's `UnrecoverableError`; executors stay free of queue types.
 */
export class PermanentNodeError extends FlowtraceError {
  readonly retryable = false;
  constructor(code: ErrorCode, message: string, options?: FlowtraceErrorOptions) {
    super(code, message, options);
    this.name = 'PermanentNodeError';
  }
}

export interface TransientNodeErrorOptions extends FlowtraceErrorOptions {
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  retryAfterMs?: number | undefined;
}

/** A failure worth retrying: timeouts, 429 and 5xx responses, dropped connections. */
export class TransientNodeError extends FlowtraceError {
  readonly retryable = true;
  readonly retryAfterMs: number | undefined;
  constructor(code: ErrorCode, message: string, options: TransientNodeErrorOptions = {}) {
    super(code, message, options);
    this.name = 'TransientNodeError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Whether an error thrown by an executor should be retried; unknown errors are treated as transient. The
 * executor's own classification (permanent or transient) wins over its code's HTTP status.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentNodeError) return false;
  if (error instanceof TransientNodeError) return true;
  if (error instanceof FlowtraceError) return !(error.statusCode >= 400 && error.statusCode < 500);
  return true;
}
