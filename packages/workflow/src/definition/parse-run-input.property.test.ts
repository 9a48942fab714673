import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowtraceError } from '../errors/flowtrace-error.ts';
import { hostileJson, nestedJson } from '../testing/hostile-json.ts';
import { DEFINITION_LIMITS, jsonByteLength } from './limits.ts';
import { parseRunInput } from './parse-run-input.ts';
import { findJsonTextProblem } from './storable-json.ts';

const INPUT_CODES = ['invalid_input', 'input_too_large', 'nesting_too_deep', 'invalid_character'];

/** Either a storable input within the limits, or a 400 with one of the input codes: nothing else. */
function checkOutcome(raw: unknown): void {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseRunInput(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(FlowtraceError);
    expect((error as FlowtraceError).statusCode).toBe(400);
    expect(INPUT_CODES).toContain((error as FlowtraceError).code);
    return;
  }
  expect(typeof parsed).toBe('object');
  expect(Array.isArray(parsed)).toBe(false);
  expect(findJsonTextProblem(parsed, { maxDepth: DEFINITION_LIMITS.maxJsonDepth })).toBeNull();
  expect(jsonByteLength(parsed)).toBeLessThanOrEqual(DEFINITION_LIMITS.maxInputBytes);
}

describe('parseRunInput', () => {
  it('accepts a storable input or rejects it with a 400 input code, whatever it is sent', () => {
    fc.assert(fc.property(hostileJson, checkOutcome), { numRuns: 500 });
    fc.assert(fc.property(fc.dictionary(fc.string(), hostileJson, { maxKeys: 5 }), checkOutcome), {
      numRuns: 300,
    });
    fc.assert(fc.property(fc.anything({ withNullPrototype: true }), checkOutcome), { numRuns: 300 });
  });

  it('limits nesting at any depth without overflowing the stack', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), (depth) => {
        const input = { value: nestedJson(depth) };
        if (depth + 1 <= DEFINITION_LIMITS.maxJsonDepth) {
          expect(parseRunInput(input)).toBe(input);
        } else {
          expect(() => parseRunInput(input)).toThrow(
            expect.objectContaining({ code: 'nesting_too_deep', statusCode: 400 }),
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('names the offending field', () => {
    expect(() => parseRunInput({ customer: { name: 'A\u0000' } })).toThrow(
      /input\.customer\.name contains U\+0000/,
    );
    expect(() => parseRunInput({ list: ['ok', '\ud834'] })).toThrow(/input\.list\[1\] contains an unpaired/);
  });
});
