import { describe, expect, it } from 'vitest';
import { ancestorsOf, rootNodes, successorsOf } from './graph.ts';
import { parseWorkflowDefinition } from './parse-definition.ts';

const llm = (id: string, dependsOn: string[] = []) => ({
  id,
  type: 'llm',
  dependsOn,
  config: { provider: 'simulated', model: 'sim', prompt: id },
});

/** start → left, right → join; `lone` stands apart. Listed out of order on purpose. */
const diamond = parseWorkflowDefinition({
  name: 'diamond',
  nodes: [
    llm('join', ['left', 'right']),
    llm('left', ['start']),
    llm('start'),
    llm('right', ['start']),
    llm('lone'),
  ],
});

describe('workflow graph', () => {
  it('lists the successors of every node, in definition order, with an empty list for leaves', () => {
    expect(Object.fromEntries(successorsOf(diamond))).toEqual({
      join: [],
      left: ['join'],
      start: ['left', 'right'],
      right: ['join'],
      lone: [],
    });
  });

  it('finds direct and transitive ancestors once each, never the node itself', () => {
    expect([...ancestorsOf(diamond, 'join')].sort()).toEqual(['left', 'right', 'start']);
    expect([...ancestorsOf(diamond, 'left')]).toEqual(['start']);
    expect([...ancestorsOf(diamond, 'start')]).toEqual([]);
    expect([...ancestorsOf(diamond, 'lone')]).toEqual([]);
    expect([...ancestorsOf(diamond, 'no-such-node')]).toEqual([]);
  });

  it('starts a run with the nodes that depend on nothing', () => {
    expect(rootNodes(diamond)).toEqual(['start', 'lone']);
  });

  it('walks a long chain without recursion limits', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `n${i}`);
    const chain = parseWorkflowDefinition({
      name: 'chain',
      nodes: ids.map((id, i) => llm(id, i === 0 ? [] : [ids[i - 1] as string])),
    });
    expect(ancestorsOf(chain, 'n49').size).toBe(49);
    expect(rootNodes(chain)).toEqual(['n0']);
    expect(successorsOf(chain).get('n0')).toEqual(['n1']);
  });
});
