import { describe, expect, it } from 'vitest';
import { sha256, stableStringify } from './stable-json.ts';

describe('stableStringify', () => {
  it('serializes equal values equally, whatever the order of their keys', () => {
    const a = { b: 1, a: { d: [1, { z: true, y: null }], c: 'x' } };
    const b = { a: { c: 'x', d: [1, { y: null, z: true }] }, b: 1 };
    expect(stableStringify(a)).toBe('{"a":{"c":"x","d":[1,{"y":null,"z":true}]},"b":1}');
    expect(stableStringify(b)).toBe(stableStringify(a));
    expect(sha256(stableStringify(b))).toBe(sha256(stableStringify(a)));
  });

  it('keeps array order, which is meaningful', () => {
    expect(stableStringify([2, 1])).not.toBe(stableStringify([1, 2]));
  });

  it('reads like JSON.stringify for scalars and drops undefined object fields as it does', () => {
    for (const value of ['text "quoted"', 0, -1.5, true, null, 'é\u2028'])
      expect(stableStringify(value)).toBe(JSON.stringify(value));
    expect(stableStringify({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(stableStringify(undefined)).toBe('null');
    expect(JSON.parse(stableStringify({ 'we"ird': { '\n': 1 } }))).toEqual({ 'we"ird': { '\n': 1 } });
  });

  it('sorts keys by code unit, not by locale', () => {
    expect(stableStringify({ b: 1, B: 2, a: 3, _: 4, '10': 5, '9': 6 })).toBe(
      '{"10":5,"9":6,"B":2,"_":4,"a":3,"b":1}',
    );
  });
});

describe('sha256', () => {
  it('is the hex SHA-256 of the UTF-8 text', () => {
    expect(sha256('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
