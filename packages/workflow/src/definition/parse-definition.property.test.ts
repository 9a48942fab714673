import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowtraceError } from '../errors/flowtrace-error.ts';
import { hostileJson, hostileString, nestedJson } from '../testing/hostile-json.ts';
import { DEFINITION_LIMITS } from './limits.ts';
import { parseWorkflowDefinition } from './parse-definition.ts';
import { findJsonTextProblem } from './storable-json.ts';

/** Either a storable definition, or a 4xx FlowtraceError: never a TypeError, RangeError or 5xx. */
function checkOutcome(raw: unknown): void {
  let parsed: unknown;
  try {
    parsed = parseWorkflowDefinition(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(FlowtraceError);
    expect((error as FlowtraceError).statusCode).toBeGreaterThanOrEqual(400);
    expect((error as FlowtraceError).statusCode).toBeLessThan(500);
    return;
  }
  expect(findJsonTextProblem(parsed, { maxDepth: DEFINITION_LIMITS.maxJsonDepth })).toBeNull();
  expect(() => JSON.stringify(parsed)).not.toThrow();
}

const nodeId = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/);

/** Valid two-node definitions whose free-text fields (and one config value) are arbitrary. */
const definition = fc.record({
  name: fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,20}$/), hostileString),
  description: fc.option(hostileString, { nil: undefined }),
  first: nodeId,
  second: nodeId,
  prompt: fc.oneof(fc.string(), hostileString),
  system: fc.option(hostileString, { nil: undefined }),
  body: hostileJson,
});

describe('parseWorkflowDefinition', () => {
  it('answers arbitrary JSON with a definition or a 4xx error', () => {
    fc.assert(fc.property(hostileJson, checkOutcome), { numRuns: 400 });
    fc.assert(fc.property(fc.anything({ withNullPrototype: true }), checkOutcome), { numRuns: 200 });
  });

  it('answers near-valid definitions with hostile text or nesting anywhere with a definition or a 4xx', () => {
    fc.assert(
      fc.property(definition, (d) => {
        checkOutcome({
          name: d.name,
          ...(d.description === undefined ? {} : { description: d.description }),
          nodes: [
            {
              id: d.first,
              type: 'llm',
              config: {
                provider: 'simulated',
                model: 'sim',
                prompt: d.prompt,
                ...(d.system === undefined ? {} : { system: d.system }),
              },
            },
            {
              id: d.second,
              type: 'connector',
              dependsOn: [d.first],
              config: { url: 'https://api.example.com/items', method: 'POST', body: d.body },
            },
          ],
        });
      }),
      { numRuns: 400 },
    );
  });

  it('rejects deep nesting and unstorable text before anything else looks at the definition', () => {
    const deep = {
      name: 'deep',
      nodes: [{ id: 'a', type: 'connector', config: { url: 'https://x.example/', body: nestedJson(4_000) } }],
    };
    expect(() => parseWorkflowDefinition(deep)).toThrow(
      expect.objectContaining({ code: 'nesting_too_deep' }),
    );
    const nul = {
      name: 'nul',
      nodes: [{ id: 'a', type: 'llm', config: { provider: 'simulated', model: 'm', prompt: 'x\u0000' } }],
    };
    expect(() => parseWorkflowDefinition(nul)).toThrow(
      /workflow\.nodes\[0\]\.config\.prompt contains U\+0000/,
    );
    expect(() => parseWorkflowDefinition({ name: 'w\ud800', nodes: [] })).toThrow(
      expect.objectContaining({ code: 'invalid_character' }),
    );
  });
});
