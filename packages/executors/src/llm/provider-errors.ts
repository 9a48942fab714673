import { FlowtraceError, PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { redactSecrets } from '../redaction/redactor.ts';

/** What a provider learned about a failed call, independent of its SDK's error classes. */
export interface ProviderFailure {
  /** HTTP status, when the server answered. */
  status?: number | undefined;
  headers?: Headers | undefined;
  /** The provider's error type from its error body (`rate_limit_error`, `invalid_request_error`, ...). */
  providerErrorType?: string | null | undefined;
  requestId?: string | null | undefined;
  message: string;
  /** The request timed out before an answer (SDK timeout). */
  timeout?: boolean;
  /** No HTTP answer at all: refused or dropped connection, DNS failure, ... */
  connection?: boolean;
  cause?: unknown;
}

/** Statuses that a retry can fix although they are 4xx. */
const RETRYABLE_4XX = new Set([408, 409, 429]);

/**
 * Maps a provider failure to the node error the engine understands: a 4xx other than 408/409/429 is
 * permanent (`provider_rejected`); 408/409/429, 5xx, timeouts and connection failures are transient
 * (`provider_error`), carrying the server's `retry-after-ms` / `retry-after` as `retryAfterMs`.
 * `secrets` (the provider's API key) are scrubbed from the message, since some providers echo a key back.
 */
export function mapProviderFailure(
  providerName: string,
  failure: ProviderFailure,
  secrets: readonly string[] = [],
): PermanentNodeError | TransientNodeError {
  const detail = scrubSecrets(failure.message, secrets);
  const details: Record<string, unknown> = { provider: providerName };
  if (failure.status !== undefined) details.status = failure.status;
  if (failure.providerErrorType) details.providerErrorType = failure.providerErrorType;
  if (failure.requestId) details.requestId = failure.requestId;
  const options = { details, cause: failure.cause };

  if (failure.status === undefined) {
    const what = failure.timeout ? 'timed out' : 'could not be reached';
    if (failure.timeout) details.reason = 'timeout';
    else details.reason = 'connection';
    return new TransientNodeError('provider_error', `provider "${providerName}" ${what}: ${detail}`, options);
  }
  const status = failure.status;
  const message = `provider "${providerName}" answered HTTP ${status}${
    failure.providerErrorType ? ` (${failure.providerErrorType})` : ''
  }: ${detail}`;
  if (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status)) {
    return new PermanentNodeError('provider_rejected', message, options);
  }
  const retryAfterMs = retryAfterFromHeaders(failure.headers);
  return new TransientNodeError('provider_error', message, { ...options, retryAfterMs });
}

/**
 * The server's requested delay: `retry-after-ms` (milliseconds, sent by OpenAI and Azure) wins over
 * `retry-after` (delta-seconds or an HTTP date). Unparseable or negative values are ignored.
 */
export function retryAfterFromHeaders(
  headers: Headers | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  const retryAfter = headers.get('retry-after');
  if (retryAfter === null || retryAfter.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
  const date = Date.parse(retryAfter);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Replaces each secret value (and the default credential shapes) by `[REDACTED]`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  return redactSecrets(text, secrets);
}

/**
 * The error a provider throws for something its SDK raised: the abort reason when the caller's signal
 * fired, node errors as they are, and the SDK-specific mapping otherwise.
 */
export function rethrowIfAbortedOrNodeError(error: unknown, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
  if (error instanceof FlowtraceError) throw error;
}

/**
 * The message of an SDK's connection error: its "Connection error." says little, its cause (ECONNREFUSED,
 * a TLS failure, ...) says what happened.
 */
export function describeConnectionError(error: Error): string {
  const cause = error.cause;
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
    return `${error.message} (${cause.message}${inner})`;
  }
  return error.message;
}
