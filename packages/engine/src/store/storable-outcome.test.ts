import { findJsonTextProblem, STORED_JSON_MAX_DEPTH } from '@flowtrace/workflow';
import { nestedJson } from '@flowtrace/workflow/testing';
import { describe, expect, it } from 'vitest';
import { sanitizedEvent, toStorableOutcome } from './storable-outcome.ts';
import type { LedgerEntries } from './types.ts';

const noLedger: LedgerEntries = { modelCalls: [], agentSteps: [] };
const ref = {
  runId: 'r',
  tenantId: 't',
  nodeId: 'n',
  attempt: 1,
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
};

describe('toStorableOutcome', () => {
  it('returns a storable outcome as it is, with nothing to report', () => {
    const parts = { output: { text: 'fine', n: [1, 2] }, error: null, ledger: noLedger };
    const outcome = toStorableOutcome(parts);
    expect(outcome).toEqual({ ...parts, sanitized: null });
    expect(outcome.output).toBe(parts.output);
    expect(sanitizedEvent(ref, outcome.sanitized)).toEqual([]);
  });

  it('replaces NUL and unpaired surrogates in outputs, errors and ledger rows, and counts each', () => {
    const outcome = toStorableOutcome({
      output: { text: 'a\u0000b', 'k\ud800': 'v' },
      error: { code: 'node_failed', message: 'bad \udfff', nodeId: 'n' },
      ledger: {
        modelCalls: [],
        agentSteps: [{ record: { step: 1, thought: 'x\u0000' } as never, traceId: 't', spanId: null }],
      },
    });
    expect(outcome.output).toEqual({ text: 'a\ufffdb', 'k\ufffd': 'v' });
    expect(outcome.error).toEqual({ code: 'node_failed', message: 'bad \ufffd', nodeId: 'n' });
    expect(outcome.ledger.agentSteps[0]?.record).toEqual({ step: 1, thought: 'x\ufffd' });
    // The reported paths are storable themselves: an odd key is shown JSON-escaped.
    expect(outcome.sanitized).toEqual({
      replacements: 4,
      paths: ['output.text', 'output["k\\ud800"]', 'error.message', 'ledger.agentSteps[0].record.thought'],
    });
    expect(findJsonTextProblem(outcome, { maxDepth: STORED_JSON_MAX_DEPTH })).toBeNull();
  });

  it('cuts containers nested past the storable depth', () => {
    const outcome = toStorableOutcome({
      output: nestedJson(STORED_JSON_MAX_DEPTH + 10) as never,
      error: null,
      ledger: noLedger,
    });
    expect(outcome.sanitized?.replacements).toBe(1);
    expect(JSON.stringify(outcome.output)).toContain(
      `[removed: nested deeper than ${STORED_JSON_MAX_DEPTH} levels]`,
    );
  });

  it('reports at most ten paths, and the full count', () => {
    const output = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`f${i}`, '\u0000']));
    const { sanitized } = toStorableOutcome({ output, error: null, ledger: noLedger });
    expect(sanitized?.replacements).toBe(25);
    expect(sanitized?.paths).toHaveLength(10);
  });
});

describe('sanitizedEvent', () => {
  it('describes the repair in one node.output_sanitized event of the attempt', () => {
    const sanitized = { replacements: 2, paths: ['output.a', 'error.message'] };
    expect(sanitizedEvent(ref, sanitized)).toEqual([
      {
        ...ref,
        type: 'node.output_sanitized',
        message: `replaced 2 value(s) that Postgres cannot store (U+0000, unpaired surrogates, nesting deeper than ${STORED_JSON_MAX_DEPTH} levels): output.a, error.message`,
        data: sanitized,
      },
    ]);
  });
});
