import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlowtraceError } from '../errors/flowtrace-error.ts';
import { hostileJson, hostileString, nestedJson as nested } from '../testing/hostile-json.ts';
import { STORED_JSON_MAX_DEPTH } from './limits.ts';
import {
  assertStorableClientJson,
  findJsonTextProblem,
  isStorableText,
  limitJsonDepth,
  REPLACEMENT_CHARACTER,
  toStorableJson,
  toStorableText,
} from './storable-json.ts';

describe('storable JSON', () => {
  it('finds NUL and unpaired surrogates in strings and keys, with their path', () => {
    expect(findJsonTextProblem({ a: ['ok', 'x\u0000y'] }, { maxDepth: 8, root: 'input' })).toEqual({
      kind: 'nul',
      path: 'input.a[1]',
    });
    expect(findJsonTextProblem({ 'odd key': { b: '\ud800' } }, { maxDepth: 8 })).toEqual({
      kind: 'surrogate',
      path: '["odd key"].b',
      codeUnit: 0xd800,
    });
    expect(findJsonTextProblem({ 'k\udc01': 1 }, { maxDepth: 8 })).toMatchObject({ kind: 'surrogate' });
    expect(findJsonTextProblem({ pair: '😀', text: 'é' }, { maxDepth: 8 })).toBeNull();
  });

  it('measures depth without recursion, at any depth', () => {
    expect(findJsonTextProblem(nested(64), { maxDepth: 64 })).toBeNull();
    expect(findJsonTextProblem(nested(65), { maxDepth: 64 })).toMatchObject({ kind: 'depth', maxDepth: 64 });
    // Far past what JSON.stringify or a recursive walk survives.
    expect(findJsonTextProblem(nested(200_000), { maxDepth: 64 })).toMatchObject({ kind: 'depth' });
  });

  it('rejects client JSON with a distinct code per problem', () => {
    const error = (value: unknown) => {
      try {
        assertStorableClientJson(value, 'input');
      } catch (caught) {
        return caught as FlowtraceError;
      }
      throw new Error('expected a rejection');
    };
    expect(error(nested(4_000))).toMatchObject({ code: 'nesting_too_deep', statusCode: 400 });
    expect(error({ note: 'a\u0000b' })).toMatchObject({ code: 'invalid_character', statusCode: 400 });
    expect(error({ note: 'a\u0000b' }).message).toMatch(/input\.note contains U\+0000/);
    expect(error({ note: '\udfff' }).message).toMatch(/unpaired UTF-16 surrogate \(U\+DFFF\)/);
  });

  it('repairs strings and keys so that every result is storable, and reports each replacement', () => {
    fc.assert(
      fc.property(hostileJson, (value) => {
        const { value: repaired, replaced } = toStorableJson(value, { maxDepth: 512, maxReported: 1_000 });
        expect(findJsonTextProblem(repaired, { maxDepth: 512 })).toBeNull();
        const needed = findJsonTextProblem(value, { maxDepth: 512 }) !== null;
        expect(replaced.count > 0).toBe(needed);
        expect(replaced.paths).toHaveLength(replaced.count);
        if (!needed) expect(repaired).toBe(value);
        // Storable text survives a JSON round trip unchanged (what jsonb stores and returns).
        expect(JSON.parse(JSON.stringify(repaired))).toEqual(repaired);
      }),
      { numRuns: 300 },
    );
  });

  it('replaces deep containers with a note instead of recursing into them', () => {
    const { value, replaced } = toStorableJson({ deep: nested(10_000) }, { maxDepth: 16, root: 'output' });
    expect(findJsonTextProblem(value, { maxDepth: 16 })).toBeNull();
    expect(replaced.count).toBe(1);
    expect(JSON.stringify(value)).toContain('nested deeper than 16 levels');
  });

  it('limits depth: containers past the bound become the marker, shallower values are returned as they are', () => {
    const deep = { deep: nested(100_000), text: 'x\u0000' };
    const limited = limitJsonDepth(deep);
    expect(findJsonTextProblem(limited, { maxDepth: STORED_JSON_MAX_DEPTH, depthOnly: true })).toBeNull();
    const serialized = JSON.stringify(limited);
    expect(serialized).toContain(`"[removed: nested deeper than ${STORED_JSON_MAX_DEPTH} levels]"`);
    // Only depth is limited: text is left for the stores to repair.
    expect(serialized).toContain('"text":"x\\u0000"');
    const shallow = { a: [1, { b: 'c' }] };
    expect(limitJsonDepth(shallow, 3)).toBe(shallow);
    expect(limitJsonDepth(shallow, 2)).toEqual({ a: [1, '[removed: nested deeper than 2 levels]'] });
    expect(limitJsonDepth('text', 0)).toBe('text');
    fc.assert(
      fc.property(hostileJson, fc.integer({ min: 1, max: 6 }), (value, maxDepth) => {
        const out = limitJsonDepth(value, maxDepth);
        expect(findJsonTextProblem(out, { maxDepth, depthOnly: true })).toBeNull();
        if (findJsonTextProblem(value, { maxDepth, depthOnly: true }) === null) expect(out).toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a "__proto__" key as a key', () => {
    const parsed = JSON.parse('{"__proto__":{"x":"\\u0000"}}');
    const { value } = toStorableJson(parsed, { maxDepth: 8 });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(JSON.stringify(value)).toBe(`{"__proto__":{"x":"${REPLACEMENT_CHARACTER}"}}`);
  });

  it('repairs text the same way', () => {
    expect(toStorableText('a\u0000b\ud800c😀')).toBe(`a${REPLACEMENT_CHARACTER}b${REPLACEMENT_CHARACTER}c😀`);
    fc.assert(fc.property(hostileString, (text) => isStorableText(toStorableText(text))));
  });
});
