import type { ApiErrorBody, ApiErrorCode } from './types.ts';

/**
 * An error answer of the API (`{ error: { code, message, nodeId?, details? } }`). `code` is one of the
 * catalogue's codes: branch on it (`isApiError(error, 'idempotency_conflict')`) or on the subclass, one per
 * kind of status (`NotFoundError`, `ConflictError`, ...).
 */
export class FlowtraceApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly nodeId: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  /** The answer's `Retry-After`, in milliseconds (429 and 503 answers carry one). */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, body: ApiErrorBody['error'], retryAfterMs?: number) {
    super(body.message);
    this.name = new.target.name;
    this.status = status;
    this.code = body.code as ApiErrorCode;
    this.nodeId = body.nodeId;
    this.details = body.details;
    this.retryAfterMs = retryAfterMs;
  }
}

/** 400: the request is malformed or invalid (the message says what to fix). */
export class BadRequestError extends FlowtraceApiError {}
/** 401: missing, malformed, unknown or revoked API key. */
export class UnauthorizedError extends FlowtraceApiError {}
/** 404: no such workflow, run or route for this tenant. */
export class NotFoundError extends FlowtraceApiError {}
/** 409: idempotency key reused, run not cancellable, run not finished, nothing to replay, ... */
export class ConflictError extends FlowtraceApiError {}
/** 413, 415, 422 and other 4xx the request can be changed to avoid. */
export class UnprocessableError extends FlowtraceApiError {}
/** 429: a quota or rate limit; `details` may say when to retry. */
export class RateLimitedError extends FlowtraceApiError {}
/** 5xx: the server could not serve the request (503: a dependency is down); worth retrying later. */
export class ServerError extends FlowtraceApiError {}

/** Thrown by `waitForRun` when the run is not finished in time. */
export class FlowtraceTimeoutError extends Error {
  readonly runId: string;
  constructor(runId: string, timeoutMs: number) {
    super(`run ${runId} did not finish within ${timeoutMs} ms`);
    this.name = 'FlowtraceTimeoutError';
    this.runId = runId;
  }
}

/** The typed error for an API answer with a status of 400 or more. */
export function apiError(status: number, body: unknown, retryAfterMs?: number): FlowtraceApiError {
  const error =
    body !== null && typeof body === 'object' && 'error' in body
      ? (body as ApiErrorBody).error
      : { code: status >= 500 ? 'internal_error' : 'invalid_request', message: `HTTP ${status}` };
  if (status === 400) return new BadRequestError(status, error, retryAfterMs);
  if (status === 401) return new UnauthorizedError(status, error, retryAfterMs);
  if (status === 404) return new NotFoundError(status, error, retryAfterMs);
  if (status === 409) return new ConflictError(status, error, retryAfterMs);
  if (status === 429) return new RateLimitedError(status, error, retryAfterMs);
  if (status >= 500) return new ServerError(status, error, retryAfterMs);
  return new UnprocessableError(status, error, retryAfterMs);
}

/** Whether `error` is an API error, with this code when one is given (narrowing `code`). */
export function isApiError<C extends ApiErrorCode>(
  error: unknown,
  code?: C,
): error is FlowtraceApiError & { code: C } {
  return error instanceof FlowtraceApiError && (code === undefined || error.code === code);
}
