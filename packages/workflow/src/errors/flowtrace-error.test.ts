import { STATUS_CODES } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from './error-codes.ts';
import { FlowtraceError, isFlowtraceError } from './flowtrace-error.ts';

describe('the error catalogue', () => {
  it('maps every code to an HTTP error status that exists', () => {
    const entries = Object.entries(ERROR_CODES);
    expect(entries.length).toBeGreaterThan(40);
    for (const [code, status] of entries) {
      expect(code, 'codes are stable snake_case strings').toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThanOrEqual(599);
      expect(STATUS_CODES[status], `${code}: ${status}`).toEqual(expect.any(String));
    }
  });

  it('keeps client mistakes at 4xx and our own faults at 5xx', () => {
    const clientCodes: ErrorCode[] = [
      'invalid_definition',
      'invalid_request',
      'invalid_input',
      'nesting_too_deep',
      'invalid_character',
      'idempotency_conflict',
      'budget_exceeded',
      'rate_limited',
      'unauthorized',
      'not_found',
    ];
    for (const code of clientCodes) expect(ERROR_CODES[code], code).toBeLessThan(500);
    expect(ERROR_CODES.rate_limited).toBe(429);
    expect(ERROR_CODES.payload_too_large).toBe(413);
    expect(ERROR_CODES.internal_error).toBe(500);
    expect(ERROR_CODES.dependency_unavailable).toBe(503);
  });
});

describe('FlowtraceError', () => {
  it('takes its status from the catalogue and serializes to the API body', () => {
    const cause = new Error('socket hang up');
    const error = new FlowtraceError('unknown_dependency', 'node "b" depends on "x"', {
      nodeId: 'b',
      details: { dependency: 'x' },
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('FlowtraceError');
    expect(error.statusCode).toBe(400);
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({
      code: 'unknown_dependency',
      message: 'node "b" depends on "x"',
      nodeId: 'b',
      details: { dependency: 'x' },
    });
    // JSON.stringify uses toJSON: no stack, no cause.
    expect(JSON.parse(JSON.stringify(error))).toEqual(error.toJSON());
  });

  it('leaves absent fields out of the body rather than sending them as undefined', () => {
    const error = new FlowtraceError('not_found', 'run not found');
    expect(Object.keys(error.toJSON())).toEqual(['code', 'message']);
    expect(error.cause).toBeUndefined();
    expect('cause' in error).toBe(false);
  });

  it('is recognised by isFlowtraceError, and plain errors are not', () => {
    expect(isFlowtraceError(new FlowtraceError('internal_error', 'x'))).toBe(true);
    expect(isFlowtraceError(new Error('x'))).toBe(false);
    expect(isFlowtraceError({ code: 'not_found', statusCode: 404, message: 'forged' })).toBe(false);
    expect(isFlowtraceError(undefined)).toBe(false);
  });
});
