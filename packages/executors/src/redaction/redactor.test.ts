import { type JsonValue, PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED, redactSecrets } from './redactor.ts';

const redact = createRedactor({
  secrets: ['Bearer tok-7f3a9c1e', 'tok-7f3a9c1e', 'p@ss w/rd'],
  patterns: ['ACCT-\\d+'],
  headerNames: ['X-Crm-Key'],
});

describe('createRedactor', () => {
  it('replaces literal secrets, their percent-encoded and JSON-escaped spellings, and patterns', () => {
    expect(redact('auth: Bearer tok-7f3a9c1e, token tok-7f3a9c1e')).toBe(
      `auth: ${REDACTED}, token ${REDACTED}`,
    );
    expect(redact('q=p%40ss%20w%2Frd&acct=ACCT-1234')).toBe(`q=${REDACTED}&acct=${REDACTED}`);
    expect(redact(JSON.stringify({ a: 'say "p@ss w/rd"' }))).not.toContain('p@ss');
    expect(redact('sk-proj-abcdefghij0123456789 and AKIAABCDEFGHIJKLMNOP')).toBe(
      `${REDACTED} and ${REDACTED}`,
    );
  });

  it('leaves ordinary words alone: default shapes need a digit', () => {
    expect(redact('Bearer authentication and sk-learn-classifiers-everywhere')).toBe(
      'Bearer authentication and sk-learn-classifiers-everywhere',
    );
    expect(redact('Bearer abcdef123456')).toBe(REDACTED);
  });

  it('ignores secrets too short to be told from ordinary text', () => {
    expect(createRedactor({ secrets: ['ab', ''] })('abab')).toBe('abab');
  });

  it('redacts every string and key of a JSON value, and whole values under secret header names', () => {
    expect(
      redact.json({
        body: {
          headers: { Authorization: 'anything at all', 'x-crm-key': 'k', Cookie: ['a', 'b'], Accept: '*/*' },
        },
        list: ['tok-7f3a9c1e', 3, true, null],
        'tok-7f3a9c1e': 'key was the secret',
      }),
    ).toEqual({
      body: { headers: { Authorization: REDACTED, 'x-crm-key': REDACTED, Cookie: REDACTED, Accept: '*/*' } },
      list: [REDACTED, 3, true, null],
      [REDACTED]: 'key was the secret',
    });
  });

  it('redacts an error in place, keeping its class, code and retry hint', () => {
    const error = new TransientNodeError('connector_error', 'GET returned tok-7f3a9c1e', {
      retryAfterMs: 5,
      details: { echoed: 'Bearer tok-7f3a9c1e', status: 502 },
    });
    const same = redact.error(error);
    expect(same).toBe(error);
    expect(same).toBeInstanceOf(TransientNodeError);
    expect(same.message).toBe(`GET returned ${REDACTED}`);
    expect(same.details).toEqual({ echoed: REDACTED, status: 502 });
    expect(same.retryAfterMs).toBe(5);
    expect(same.stack).not.toContain('tok-7f3a9c1e');
    const frozen = Object.freeze(new PermanentNodeError('connector_error', 'tok-7f3a9c1e'));
    expect(redact.error(frozen)).toBe(frozen);
    expect(redact.error('a string')).toBe('a string');
  });

  it('redacts JSON nested 100,000 levels deep, keeping its shape, and errors carrying it', () => {
    const depth = 100_000;
    let value: JsonValue = ['tok-7f3a9c1e'];
    for (let level = 0; level < depth; level++)
      value = level % 2 === 0 ? { 'x-crm-key': 'k', next: value } : [value];
    const bottom = (nested: JsonValue): JsonValue => {
      let at = nested;
      for (let level = depth - 1; level >= 0; level--) {
        if (level % 2 === 0) {
          expect((at as Record<string, JsonValue>)['x-crm-key']).toBe(REDACTED);
          at = (at as Record<string, JsonValue>).next as JsonValue;
        } else at = (at as JsonValue[])[0] as JsonValue;
      }
      return at;
    };
    expect(bottom(redact.json(value))).toEqual([REDACTED]);
    const error = redact.error(
      new PermanentNodeError('connector_error', 'GET returned tok-7f3a9c1e', { details: { body: value } }),
    );
    expect(bottom((error.details as { body: JsonValue }).body)).toEqual([REDACTED]);
  });

  it('rejects an invalid pattern naming it', () => {
    expect(() => createRedactor({ patterns: ['(unclosed'] })).toThrow(
      /invalid redact pattern \/\(unclosed\//,
    );
  });

  it('redactSecrets applies the literal secrets and the default shapes', () => {
    expect(redactSecrets('x tok-7f3a9c1e y', ['tok-7f3a9c1e'])).toBe(`x ${REDACTED} y`);
  });
});
