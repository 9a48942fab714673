import { describe, expect, it } from 'vitest';
import { parseFilterExpression, renderFilterItems } from './filter-expression.ts';

const key = (name: string) => ({ key: name, dataType: 'string', type: 'tag' as const });

describe('filter expressions', () => {
  it('renders v4 filter items the way SigNoz writes filter.expression', () => {
    expect(
      renderFilterItems([
        { key: key('service.name'), op: 'in', value: '$service_name' },
        { key: key('flowtrace.node.outcome'), op: '=', value: 'failed' },
        { key: key('flowtrace.node.type'), op: 'nin', value: ['llm', 'rag'] },
        { key: key('error.type'), op: 'exists', value: '' },
      ]),
    ).toBe(
      "service.name IN $service_name AND flowtrace.node.outcome = 'failed' AND flowtrace.node.type NOT IN ['llm', 'rag'] AND error.type EXISTS",
    );
  });

  it('reads back the clauses it renders', () => {
    expect(
      parseFilterExpression("service.name IN $service_name AND error.type EXISTS AND x.y != 'a b'"),
    ).toEqual([
      { key: 'service.name', op: 'IN', value: '$service_name' },
      { key: 'error.type', op: 'EXISTS' },
      { key: 'x.y', op: '!=', value: "'a b'" },
    ]);
    expect(parseFilterExpression('  ')).toEqual([]);
  });

  it('refuses what it does not understand instead of skipping it', () => {
    expect(() => parseFilterExpression("a = 'x' OR b = 'y'")).toThrow(/cannot read filter clause/);
    expect(() => parseFilterExpression('a EXISTS 3')).toThrow(/takes no value/);
    expect(() => parseFilterExpression('a =')).toThrow(/needs value/);
  });
});
