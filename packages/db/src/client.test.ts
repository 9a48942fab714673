import { describe, expect, it } from 'vitest';
import { isConnectionLost, isTransientDatabaseError } from './client.ts';

const withCode = (code: unknown) => Object.assign(new Error(`error ${String(code)}`), { code });

describe('database error classes', () => {
  it('treats restarts, lost connections, serialization failures and deadlocks as transient', () => {
    for (const code of [
      '57P01',
      '57P03',
      '08006',
      '40001',
      '40P01',
      'ECONNREFUSED',
      'ECONNRESET',
      'CONNECTION_CLOSED',
    ])
      expect(isTransientDatabaseError(withCode(code)), code).toBe(true);
  });

  it('treats everything else as permanent, including values that are not errors', () => {
    for (const value of [
      withCode('23505'), // unique_violation
      withCode('22P02'),
      withCode(57),
      new Error('no code'),
      null,
      undefined,
      'ECONNRESET',
    ])
      expect(isTransientDatabaseError(value), String(value)).toBe(false);
  });

  it('tells a lost connection (closed, reset, or ended by the server) from other errors', () => {
    for (const code of ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE'])
      expect(isConnectionLost(withCode(code)), code).toBe(true);
    expect(isConnectionLost(Object.assign(withCode('57P01'), { severity: 'FATAL' }))).toBe(true);
    for (const value of [withCode('40P01'), withCode('57P01'), withCode('23505'), null, undefined])
      expect(isConnectionLost(value), String(value)).toBe(false);
  });
});
