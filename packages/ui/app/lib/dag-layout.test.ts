import { describe, expect, it } from 'vitest';
import { layoutDag, NODE_WIDTH } from './dag-layout.ts';

describe('layoutDag', () => {
  it('places each node to the right of the nodes it depends on, without overlaps', () => {
    const layout = layoutDag([
      { id: 'classify', dependsOn: [] },
      { id: 'customer', dependsOn: ['classify'] },
      { id: 'policy', dependsOn: ['classify'] },
      { id: 'resolve', dependsOn: ['customer', 'policy'] },
    ]);
    const at = (id: string) => layout.nodes.find((n) => n.id === id) as (typeof layout.nodes)[number];
    expect(at('customer').x).toBeGreaterThanOrEqual(at('classify').x + NODE_WIDTH);
    expect(at('resolve').x).toBeGreaterThanOrEqual(at('policy').x + NODE_WIDTH);
    expect(Math.abs(at('customer').y - at('policy').y)).toBeGreaterThanOrEqual(at('policy').height);
    expect(layout.edges.map((e) => `${e.from}->${e.to}`).sort()).toEqual([
      'classify->customer',
      'classify->policy',
      'customer->resolve',
      'policy->resolve',
    ]);
    for (const node of layout.nodes) {
      expect(node.x).toBeGreaterThanOrEqual(0);
      expect(node.x + node.width).toBeLessThanOrEqual(layout.width);
      expect(node.y + node.height).toBeLessThanOrEqual(layout.height);
    }
  });

  it('ignores dependencies on nodes it was not given', () => {
    const layout = layoutDag([{ id: 'only', dependsOn: ['missing'] }]);
    expect(layout.nodes).toHaveLength(1);
    expect(layout.edges).toEqual([]);
  });
});
