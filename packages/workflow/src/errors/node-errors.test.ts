import { describe, expect, it } from 'vitest';
import { FlowtraceError } from './flowtrace-error.ts';
import { isRetryable, PermanentNodeError, TransientNodeError } from './node-errors.ts';

describe('node errors', () => {
  it('marks permanent and transient failures, keeping the code, node and Retry-After', () => {
    const permanent = new PermanentNodeError('provider_rejected', 'bad request', { nodeId: 'ask' });
    expect(permanent).toBeInstanceOf(FlowtraceError);
    expect(permanent).toMatchObject({ name: 'PermanentNodeError', retryable: false, statusCode: 422 });
    expect(permanent.toJSON()).toEqual({ code: 'provider_rejected', message: 'bad request', nodeId: 'ask' });

    const transient = new TransientNodeError('provider_error', 'overloaded', { retryAfterMs: 1_500 });
    expect(transient).toBeInstanceOf(FlowtraceError);
    expect(transient).toMatchObject({ name: 'TransientNodeError', retryable: true, retryAfterMs: 1_500 });
    expect(new TransientNodeError('connector_error', 'reset').retryAfterMs).toBeUndefined();
  });

  it('retries transient failures and unknown errors, never permanent ones', () => {
    expect(isRetryable(new TransientNodeError('provider_error', 'x'))).toBe(true);
    expect(isRetryable(new PermanentNodeError('provider_error', 'x'))).toBe(false);
    expect(isRetryable(new Error('ECONNRESET'))).toBe(true);
    expect(isRetryable('a thrown string')).toBe(true);
    expect(isRetryable(undefined)).toBe(true);
  });

  it('classifies other catalogue errors by status: a 4xx will fail again, a 5xx may not', () => {
    expect(isRetryable(new FlowtraceError('template_variable_missing', 'x'))).toBe(false);
    expect(isRetryable(new FlowtraceError('connector_blocked', 'x'))).toBe(false);
    expect(isRetryable(new FlowtraceError('provider_error', 'x'))).toBe(true);
    expect(isRetryable(new FlowtraceError('node_timeout', 'x'))).toBe(true);
  });

  it('retries a failure marked transient even when its code maps to a 4xx status', () => {
    // The executor's own classification wins over the code's HTTP status (a throttled call, 429).
    expect(isRetryable(new TransientNodeError('rate_limited', 'slow down', { retryAfterMs: 1_000 }))).toBe(
      true,
    );
  });
});
