import { describe, expect, it } from 'vitest';
import {
  apiError,
  BadRequestError,
  ConflictError,
  type FlowtraceApiError,
  isApiError,
  NotFoundError,
  ServerError,
  UnauthorizedError,
  UnprocessableError,
} from './errors.ts';

describe('apiError', () => {
  it('maps statuses to typed errors that keep the code, message and details', () => {
    const body = (code: string) => ({ error: { code, message: `m ${code}`, details: { runId: 'r' } } });
    const cases: [number, string, typeof FlowtraceApiError][] = [
      [400, 'invalid_request', BadRequestError],
      [401, 'unauthorized', UnauthorizedError],
      [404, 'not_found', NotFoundError],
      [409, 'nothing_to_replay', ConflictError],
      [413, 'payload_too_large', UnprocessableError],
      [503, 'dependency_unavailable', ServerError],
    ];
    for (const [status, code, type] of cases) {
      const error = apiError(status, body(code));
      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject({
        status,
        code,
        message: `m ${code}`,
        details: { runId: 'r' },
        name: type.name,
      });
      expect(isApiError(error, code as never)).toBe(true);
      expect(isApiError(error, 'idempotency_conflict')).toBe(code === 'idempotency_conflict');
    }
  });

  it('still gives a typed error for a body that is not the API format (a proxy page)', () => {
    expect(apiError(502, '<html>')).toMatchObject({
      status: 502,
      code: 'internal_error',
      message: 'HTTP 502',
    });
    expect(isApiError(new Error('x'))).toBe(false);
  });
});
