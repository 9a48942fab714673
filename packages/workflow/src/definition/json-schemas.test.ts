import { describe, expect, it } from 'vitest';
import { FlowtraceError } from '../errors/flowtrace-error.ts';
import { PermanentNodeError } from '../errors/node-errors.ts';
import { parseWorkflowDefinition } from './parse-definition.ts';

const llmNode = (schema: unknown) => ({
  id: 'classify',
  type: 'llm',
  config: {
    provider: 'simulated',
    model: 'm',
    prompt: 'classify',
    responseFormat: { type: 'json_schema', name: 'label', schema },
  },
});

const agentNode = (tools: unknown[]) => ({
  id: 'helper',
  type: 'agent',
  config: { name: 'helper', provider: 'simulated', model: 'm', prompt: 'help', tools },
});

const httpTool = (name: string, parameters?: unknown) => ({
  type: 'http',
  name,
  description: 'Look something up',
  url: 'https://api.example/{{ args.q }}',
  ...(parameters === undefined ? {} : { parameters }),
});

function parseError(definition: unknown): FlowtraceError {
  try {
    parseWorkflowDefinition(definition);
  } catch (error) {
    if (error instanceof FlowtraceError) return error;
    throw error;
  }
  throw new Error('expected the definition to be refused');
}

describe('JSON Schemas in workflow definitions', () => {
  it('accepts valid schemas and keeps them as written', () => {
    const schema = { type: 'object', properties: { label: { enum: ['spam', 'ham'] } }, required: ['label'] };
    const parameters = { type: 'object', properties: { q: { type: 'string', format: 'hostname' } } };
    const definition = parseWorkflowDefinition({
      name: 'w',
      nodes: [llmNode(schema), agentNode([httpTool('lookup', parameters), httpTool('plain')])],
    });
    const [llm, agent] = definition.nodes;
    expect(llm?.type === 'llm' && llm.config.responseFormat?.schema).toEqual(schema);
    expect(
      agent?.type === 'agent' && agent.config.tools.map((t) => t.type !== 'rag' && t.parameters),
    ).toEqual([parameters, { type: 'object', properties: {} }]);
  });

  it('refuses a responseFormat schema that does not compile, naming the node and where it sits', () => {
    const error = parseError({
      name: 'w',
      nodes: [llmNode({ type: 'object', properties: { a: { type: 'str' } } })],
    });
    expect(error.code).toBe('invalid_json_schema');
    expect(error.statusCode).toBe(400);
    // The same error an executor raises for a stored definition: retrying cannot fix it.
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect(error.nodeId).toBe('classify');
    expect(error.details).toEqual({ path: 'config.responseFormat.schema' });
    expect(error.message).toMatch(
      /^node "classify": the responseFormat schema is not a valid JSON Schema \(2020-12\): .*\/properties\/a\/type/,
    );
  });

  it('refuses tool parameters that do not compile, naming the tool', () => {
    const error = parseError({
      name: 'w',
      nodes: [agentNode([httpTool('fine'), httpTool('broken', { type: 'object', $ref: '#/$defs/nowhere' })])],
    });
    expect(error).toMatchObject({
      code: 'invalid_json_schema',
      nodeId: 'helper',
      details: { path: 'config.tools[1].parameters' },
    });
    expect(error.message).toMatch(/node "helper": the parameters of tool "broken" .*can't resolve reference/);
  });

  it('refuses a schema that is not an object before compiling anything', () => {
    const error = parseError({ name: 'w', nodes: [llmNode(['type', 'object'])] });
    expect(error.code).toBe('invalid_definition');
    expect(error.message).toMatch(/config\.responseFormat\.schema: must be a JSON Schema object/);
  });
});
