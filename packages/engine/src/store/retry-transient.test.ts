import { describe, expect, it } from 'vitest';
import { isRejectedValueError, retryTransient } from './retry-transient.ts';

const withCode = (code: unknown) => Object.assign(new Error(`error ${String(code)}`), { code });

describe('database error classes', () => {
  it('recognises values Postgres refused (data exceptions and program limits), and nothing else', () => {
    for (const code of ['22021', '22P05', '22003', '54001'])
      expect(isRejectedValueError(withCode(code)), code).toBe(true);
    for (const value of [withCode('23505'), withCode('2200'), withCode('220000'), withCode('57P01'), null])
      expect(isRejectedValueError(value), String(value)).toBe(false);
  });
});

describe('retryTransient', () => {
  it('retries while the database is unreachable and returns the first success', async () => {
    const failures = [withCode('ECONNREFUSED'), withCode('57P03')];
    let calls = 0;
    const result = await retryTransient(async () => {
      calls++;
      const failure = failures.shift();
      if (failure) throw failure;
      return 'written';
    });
    expect(result).toBe('written');
    expect(calls).toBe(3);
  });

  it('rethrows a permanent error at once', async () => {
    const unique = withCode('23505');
    let calls = 0;
    await expect(
      retryTransient(async () => {
        calls++;
        throw unique;
      }),
    ).rejects.toBe(unique);
    expect(calls).toBe(1);
  });

  it('rethrows a transient error once its budget is spent', async () => {
    const restart = withCode('57P01');
    let calls = 0;
    await expect(
      retryTransient(async () => {
        calls++;
        throw restart;
      }, 0),
    ).rejects.toBe(restart);
    expect(calls).toBe(1);
  });
});
