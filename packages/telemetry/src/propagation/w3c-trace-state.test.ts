import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TRACE_STATE_LENGTH, W3cTraceState } from './w3c-trace-state.ts';

const parse = (field: string | string[] | undefined) => W3cTraceState.parse(field)?.serialize();

describe('W3cTraceState.parse', () => {
  it('keeps a valid list in order, combining repeated fields and dropping empty members and OWS', () => {
    expect(parse('foo=1,bar=2')).toBe('foo=1,bar=2');
    expect(parse(['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3'])).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
    expect(parse('foo=1 \t , \t bar=2, \t baz=3')).toBe('foo=1,bar=2,baz=3');
    expect(parse(['', 'foo=1'])).toBe('foo=1');
    expect(parse(['foo=1', ''])).toBe('foo=1');
    expect(parse('\t foo=1 \t')).toBe('foo=1');
    // Leading spaces belong to the value; trailing ones are OWS.
    expect(W3cTraceState.parse('foo= 1 ')?.get('foo')).toBe(' 1');
  });

  it('has nothing to keep for an absent or empty header', () => {
    expect(parse(undefined)).toBeUndefined();
    expect(parse('')).toBeUndefined();
    expect(parse(' , ,\t')).toBeUndefined();
  });

  it('accepts the current key grammar, `@` included wherever it is not first', () => {
    for (const key of [
      'foo@',
      'foo@@bar',
      'foo@bar@baz',
      `${'t'.repeat(241)}@${'v'.repeat(14)}`,
      `${'t'.repeat(242)}@v`,
      `t@${'v'.repeat(15)}`,
      'z'.repeat(256),
      '0abc',
      'abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/',
    ]) {
      expect(W3cTraceState.parse(`${key}=1,bar=2`)?.get(key), key).toBe('1');
    }
  });

  it('discards the whole header when any member is invalid', () => {
    for (const header of [
      '@foo=1,bar=2',
      'foo =1,bar=2',
      'FOO=1,bar=2',
      'foo.bar=1,bar=2',
      `${'z'.repeat(257)}=1,foo=1`,
      'foo=bar=baz',
      'foo=,bar=3',
      'foo,bar=3',
      '=1,bar=3',
      `foo=${'v'.repeat(257)}`,
      'foo=\x7f',
    ]) {
      expect(parse(header), header).toBeUndefined();
    }
  });

  it('keeps 32 members and discards a list of 33', () => {
    const members = (n: number) =>
      Array.from({ length: n }, (_, i) => `bar${String(i + 1).padStart(2, '0')}=${i}`);
    expect(W3cTraceState.parse(members(32).join(','))?.serialize().split(',')).toHaveLength(32);
    expect(parse(members(33).join(','))).toBeUndefined();
  });

  it('keeps one value per key', () => {
    expect(parse('foo=1,foo=2')).toBe('foo=1');
    expect(parse(['foo=1', 'foo=1'])).toBe('foo=1');
  });

  it('truncates a valid list past 512 characters by whole entries, the long ones first', () => {
    const long = `big=${'x'.repeat(200)}`;
    const small = Array.from({ length: 20 }, (_, i) => `k${i}=${'v'.repeat(20)}`);
    const header = [small[0], long, ...small.slice(1)].join(',');
    const kept = W3cTraceState.parse(header);
    expect(kept?.get('big')).toBeUndefined();
    expect(kept?.get('k0')).toBe('v'.repeat(20));
    expect(kept?.serialize().length).toBeLessThanOrEqual(MAX_TRACE_STATE_LENGTH);
    // Then from the end.
    const many = Array.from({ length: 30 }, (_, i) => `key${i}=${'v'.repeat(20)}`).join(',');
    const truncated = W3cTraceState.parse(many)?.serialize() ?? '';
    expect(truncated.length).toBeLessThanOrEqual(MAX_TRACE_STATE_LENGTH);
    expect(many.startsWith(truncated)).toBe(true);
  });

  it('never throws, and what it keeps parses back to itself', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 80 }), { maxLength: 4 }), (fields) => {
        const state = W3cTraceState.parse(fields);
        if (state) expect(W3cTraceState.parse(state.serialize())?.serialize()).toBe(state.serialize());
      }),
    );
  });
});

describe('W3cTraceState mutations', () => {
  it('puts set keys first, replacing their old entry, and drops the right-most past 32', () => {
    const state = W3cTraceState.parse('a=1,b=2') as W3cTraceState;
    expect(state.set('b', '3').serialize()).toBe('b=3,a=1');
    expect(state.set('c', '4').serialize()).toBe('c=4,a=1,b=2');
    expect(state.set('Bad', '1')).toBe(state);
    expect(state.unset('a').serialize()).toBe('b=2');
    const full = W3cTraceState.parse(
      Array.from({ length: 32 }, (_, i) => `k${i}=1`).join(','),
    ) as W3cTraceState;
    const added = full.set('new', '1').serialize().split(',');
    expect(added).toHaveLength(32);
    expect(added[0]).toBe('new=1');
    expect(added).not.toContain('k31=1');
  });
});
