import { describe, expect, it } from 'vitest';
import { parseWorkflowDefinition } from './parse-definition.ts';

const llm = (id: string, dependsOn: string[] = [], prompt = id) => ({
  id,
  type: 'llm',
  dependsOn,
  config: { provider: 'simulated', model: 'sim', prompt },
});

const workflow = (...nodes: unknown[]) => ({ name: 'w', nodes });

/** The error a definition is refused with (fails the test when it is accepted). */
function refusal(definition: unknown): unknown {
  try {
    parseWorkflowDefinition(definition);
  } catch (error) {
    return error;
  }
  expect.fail('expected the definition to be refused');
}

describe('parseWorkflowDefinition: the graph', () => {
  it('accepts a DAG and applies the defaults', () => {
    const parsed = parseWorkflowDefinition(
      workflow(llm('a'), llm('b', ['a'], 'after {{nodes.a.output.text}}')),
    );
    expect(parsed.nodes.map((n) => [n.id, n.dependsOn, n.continueOnFailure])).toEqual([
      ['a', [], false],
      ['b', ['a'], false],
    ]);
  });

  it('refuses a node id used twice', () => {
    expect(refusal(workflow(llm('a'), llm('a')))).toMatchObject({
      code: 'duplicate_node_id',
      statusCode: 400,
      nodeId: 'a',
      message: 'node id "a" is used by more than one node',
    });
  });

  it('refuses a dependency on a node that does not exist', () => {
    expect(refusal(workflow(llm('a', ['ghost'])))).toMatchObject({
      code: 'unknown_dependency',
      nodeId: 'a',
      details: { dependency: 'ghost' },
      message: 'node "a" depends on "ghost", which is not a node of this workflow',
    });
  });

  it('refuses a node that depends on itself, and the same dependency twice', () => {
    expect(refusal(workflow(llm('a', ['a'])))).toMatchObject({
      code: 'workflow_cycle',
      nodeId: 'a',
      message: 'node "a" depends on itself',
    });
    expect(refusal(workflow(llm('a'), llm('b', ['a', 'a'])))).toMatchObject({
      code: 'invalid_definition',
      nodeId: 'b',
      message: 'node "b" lists the same dependency twice',
    });
  });

  it('refuses a cycle, naming the nodes that form it in order', () => {
    const error = refusal(workflow(llm('root'), llm('a', ['root', 'c']), llm('b', ['a']), llm('c', ['b'])));
    expect(error).toMatchObject({ code: 'workflow_cycle', statusCode: 400 });
    const cycle = (error as { details: { cycle: string[] } }).details.cycle;
    // The cycle closes on the node it started from, whichever node the search entered it by.
    expect(cycle).toHaveLength(4);
    expect(cycle[0]).toBe(cycle[3]);
    expect([...cycle.slice(0, 3)].sort()).toEqual(['a', 'b', 'c']);
    expect((error as Error).message).toBe(
      `nodes ${cycle.map((n) => `"${n}"`).join(' → ')} form a cycle; a workflow must be a DAG`,
    );
  });

  it('lets a template read the outputs of direct and transitive dependencies', () => {
    const parsed = parseWorkflowDefinition(
      workflow(llm('a'), llm('b', ['a']), llm('c', ['b'], '{{nodes.a.output.text}} {{nodes.b.output.text}}')),
    );
    expect(parsed.nodes).toHaveLength(3);
  });

  it('refuses a template that reads a node outside its dependencies, saying what to add', () => {
    expect(refusal(workflow(llm('a'), llm('b', [], 'use {{nodes.a.output.text}}')))).toMatchObject({
      code: 'unknown_template_reference',
      nodeId: 'b',
      message:
        'node "b": template "{{nodes.a.output.text}}" cannot be resolved: node "a" is not among its dependencies; add it to dependsOn',
    });
    expect(refusal(workflow(llm('a', [], '{{nodes.ghost.output}}')))).toMatchObject({
      code: 'unknown_template_reference',
      message: expect.stringContaining('there is no node "ghost"'),
    });
    // A successor is not readable either: it has not run yet.
    expect(refusal(workflow(llm('a', [], '{{nodes.b.output}}'), llm('b', ['a'])))).toMatchObject({
      code: 'unknown_template_reference',
      nodeId: 'a',
    });
  });

  it('allows tool arguments only inside agent tools', () => {
    expect(refusal(workflow(llm('a', [], 'city {{args.city}}')))).toMatchObject({
      code: 'unknown_template_reference',
      nodeId: 'a',
      message: 'node "a": "{{args.city}}" reads tool arguments, which exist only inside agent tools',
    });
    const parsed = parseWorkflowDefinition(
      workflow({
        id: 'helper',
        type: 'agent',
        config: {
          name: 'helper',
          provider: 'simulated',
          model: 'sim',
          prompt: 'Weather?',
          tools: [
            {
              type: 'http',
              name: 'weather',
              description: 'Weather for a city',
              url: 'https://weather.example/v1/{{args.city}}',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            },
          ],
        },
      }),
    );
    expect(parsed.nodes[0]?.type).toBe('agent');
  });

  it('names an unknown node type and the types there are', () => {
    expect(refusal(workflow({ id: 'x', type: 'shell', config: {} }))).toMatchObject({
      code: 'unknown_node_type',
      nodeId: 'x',
      message: 'node "x" has unknown type "shell"; expected one of llm, agent, connector, rag',
    });
  });

  it('names the node and field of an invalid config', () => {
    expect(
      refusal(workflow({ id: 'x', type: 'llm', config: { provider: 'simulated', model: '', prompt: 'p' } })),
    ).toMatchObject({
      code: 'invalid_definition',
      nodeId: 'x',
      message: expect.stringMatching(/^node "x" \(llm\) has an invalid config: config\.model: /),
    });
    expect(refusal({ name: 'w', nodes: [] })).toMatchObject({
      code: 'invalid_definition',
      message: 'invalid workflow definition: nodes: a workflow needs at least one node',
    });
  });
});
