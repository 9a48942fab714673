import { isFlowtraceError, parseWorkflowDefinition } from '@flowtrace/workflow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planReplay } from './replay-plan.ts';

const llm = (id: string, dependsOn: string[] = []) => ({
  id,
  type: 'llm',
  dependsOn,
  config: { provider: 'simulated', model: 'sim', prompt: 'p' },
});
// a → (b, c) → join → after;  side runs on its own.
const fanIn = parseWorkflowDefinition({
  name: 'fan-in',
  nodes: [
    llm('a'),
    llm('b', ['a']),
    llm('c', ['a']),
    llm('join', ['b', 'c']),
    llm('after', ['join']),
    llm('side'),
  ],
});
const statuses = (entries: Record<string, string>) =>
  Object.entries(entries).map(([nodeId, status]) => ({ nodeId, status }));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isFlowtraceError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('planReplay', () => {
  it('replays a failed join and what follows it, reusing the completed branches', () => {
    const plan = planReplay(
      fanIn,
      statuses({
        a: 'completed',
        b: 'completed',
        c: 'completed',
        join: 'failed',
        after: 'skipped',
        side: 'completed',
      }),
      undefined,
    );
    expect(plan.from).toEqual(['join']);
    expect(plan.execute).toEqual(['join', 'after']);
    expect(plan.reuse).toEqual(['a', 'b', 'c', 'side']);
    expect(plan.roots).toEqual(['join']);
    expect(Object.fromEntries(plan.remainingDeps)).toEqual({ join: 0, after: 1 });
  });

  it('executes what did not complete even when it is not downstream of the replayed nodes', () => {
    const plan = planReplay(
      fanIn,
      statuses({
        a: 'completed',
        b: 'failed',
        c: 'cancelled',
        join: 'skipped',
        after: 'skipped',
        side: 'skipped',
      }),
      undefined,
    );
    expect(plan.from).toEqual(['b', 'c']);
    expect(plan.execute).toEqual(['b', 'c', 'join', 'after', 'side']);
    expect(plan.reuse).toEqual(['a']);
    expect(plan.roots).toEqual(['b', 'c', 'side']);
  });

  it('replays from named nodes of a completed run', () => {
    const done = statuses(Object.fromEntries(fanIn.nodes.map((n) => [n.id, 'completed'])));
    const plan = planReplay(fanIn, done, ['c']);
    expect(plan.execute).toEqual(['c', 'join', 'after']);
    expect(Object.fromEntries(plan.remainingDeps)).toEqual({ c: 0, join: 1, after: 1 });
    expect(codeOf(() => planReplay(fanIn, done, undefined))).toBe('nothing_to_replay');
    expect(codeOf(() => planReplay(fanIn, done, ['c', 'nope']))).toBe('replay_node_not_found');
  });

  it('never reuses a node downstream of an executed one, and executes every node that did not complete', () => {
    const ids = fanIn.nodes.map((n) => n.id);
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('completed', 'failed', 'cancelled', 'skipped'), {
          minLength: ids.length,
          maxLength: ids.length,
        }),
        fc.option(fc.subarray(ids, { minLength: 1 }), { nil: undefined }),
        (picked, from) => {
          const original = ids.map((nodeId, i) => ({ nodeId, status: picked[i] as string }));
          let plan: ReturnType<typeof planReplay>;
          try {
            plan = planReplay(fanIn, original, from);
          } catch (error) {
            expect(isFlowtraceError(error) && error.code).toBe('nothing_to_replay');
            return;
          }
          const executed = new Set(plan.execute);
          expect([...plan.execute, ...plan.reuse].sort()).toEqual([...ids].sort());
          for (const node of fanIn.nodes) {
            if (node.dependsOn.some((d) => executed.has(d))) expect(executed.has(node.id)).toBe(true);
            if (original.find((o) => o.nodeId === node.id)?.status !== 'completed')
              expect(executed.has(node.id)).toBe(true);
          }
          for (const root of plan.roots)
            expect(fanIn.nodes.find((n) => n.id === root)?.dependsOn.every((d) => !executed.has(d))).toBe(
              true,
            );
        },
      ),
    );
  });
});
