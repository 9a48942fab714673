import { PermanentNodeError, STORED_JSON_MAX_DEPTH } from '@flowtrace/workflow';
import { nestedJson } from '@flowtrace/workflow/testing';
import { describe, expect, it } from 'vitest';
import { assertStorableOutput, permanentIfTooDeep } from './storable-output.ts';

describe('assertStorableOutput', () => {
  it('accepts an output within the depth and size limits, including text it will repair', () => {
    expect(() => assertStorableOutput({ text: 'ok', items: [1, 2] }, 'n', 1_000)).not.toThrow();
    expect(() =>
      assertStorableOutput(nestedJson(STORED_JSON_MAX_DEPTH - 1) as never, 'n', 1e9),
    ).not.toThrow();
    // NUL and unpaired surrogates are repaired when the outcome is written, not refused here.
    expect(() => assertStorableOutput({ text: 'a\u0000b\ud800' }, 'n', 1_000)).not.toThrow();
  });

  it('fails for good, naming the node and the limit, on an output larger than the limit', () => {
    const output = { text: 'x'.repeat(200) };
    const check = () => assertStorableOutput(output, 'summarize', 100);
    expect(check).toThrow(PermanentNodeError);
    expect(check).toThrow(expect.objectContaining({ code: 'output_not_storable', nodeId: 'summarize' }));
    expect(check).toThrow(
      'node "summarize" produced 211 bytes of output; the limit is 100 (NODE_MAX_OUTPUT_BYTES)',
    );
  });

  it('fails for good on nesting past the storable depth, before measuring (which would overflow)', () => {
    const check = () => assertStorableOutput(nestedJson(100_000) as never, 'fetch', Number.MAX_SAFE_INTEGER);
    expect(check).toThrow(expect.objectContaining({ code: 'output_not_storable', nodeId: 'fetch' }));
    expect(check).toThrow(
      new RegExp(
        `^node "fetch" produced output that cannot be stored: output.* is nested deeper than ${STORED_JSON_MAX_DEPTH} levels$`,
      ),
    );
  });
});

describe('permanentIfTooDeep', () => {
  it('turns a stack overflow into a permanent output_not_storable, keeping the cause', () => {
    let overflow: unknown;
    const recurse = (n: number): number => recurse(n + 1) + 1;
    try {
      recurse(0);
    } catch (error) {
      overflow = error;
    }
    expect(overflow).toBeInstanceOf(RangeError);
    const mapped = permanentIfTooDeep(overflow, 'parse');
    expect(mapped).toBeInstanceOf(PermanentNodeError);
    expect(mapped).toMatchObject({ code: 'output_not_storable', nodeId: 'parse', cause: overflow });
    expect((mapped as Error).message).toMatch(
      /^node "parse" handled a value nested too deeply to process \(Maximum call stack size exceeded\); it is not retried$/,
    );
  });

  it('passes every other error through unchanged', () => {
    const others = [
      new RangeError('Invalid array length'),
      new Error('Maximum call stack size exceeded'),
      'x',
      undefined,
    ];
    for (const error of others) expect(permanentIfTooDeep(error, 'n')).toBe(error);
  });
});
