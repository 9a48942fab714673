import { noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { DEFINITION_LIMITS } from '@flowtrace/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';

const llm = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'llm',
  config: { provider: 'simulated', model: 'sim', prompt: 'hello' },
  ...extra,
});

describe('API input validation, authentication and tenant isolation', () => {
  let fleet: InProcessFleet;
  const post = (url: string, payload: unknown, key = fleet.apiKey) =>
    fleet.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${key}` },
      payload: payload as object,
    });
  const counts = async () => {
    const [row] = await fleet.db.handle.sql`
      select (select count(*) from runs)::int as runs, (select count(*) from node_runs)::int as nodes,
             (select count(*) from workflows)::int as workflows, (select count(*) from event_logs)::int as events`;
    return row;
  };

  beforeAll(async () => {
    fleet = await startInProcessFleet({ executors: [], deferredSpans: noopDeferredSpanEmitter });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  const invalid: [string, unknown, string, RegExp][] = [
    [
      'a cycle',
      { name: 'w', nodes: [llm('a', { dependsOn: ['b'] }), llm('b', { dependsOn: ['a'] })] },
      'workflow_cycle',
      /"a" → "b" → "a"|"b" → "a" → "b"/,
    ],
    [
      'a self-dependency',
      { name: 'w', nodes: [llm('a', { dependsOn: ['a'] })] },
      'workflow_cycle',
      /"a" depends on itself/,
    ],
    [
      'an unknown type',
      { name: 'w', nodes: [{ id: 'x', type: 'gpu', config: {} }] },
      'unknown_node_type',
      /node "x" has unknown type "gpu"/,
    ],
    [
      'a dangling dependency',
      { name: 'w', nodes: [llm('a', { dependsOn: ['ghost'] })] },
      'unknown_dependency',
      /node "a" depends on "ghost"/,
    ],
    [
      'a duplicate id',
      { name: 'w', nodes: [llm('a'), llm('a')] },
      'duplicate_node_id',
      /"a" is used by more than one node/,
    ],
    [
      'a wrong config type',
      {
        name: 'w',
        nodes: [{ id: 'a', type: 'llm', config: { provider: 'simulated', model: 'm', prompt: 42 } }],
      },
      'invalid_definition',
      /node "a" \(llm\).*config\.prompt/,
    ],
    [
      'a template reading a non-dependency',
      {
        name: 'w',
        nodes: [
          llm('a'),
          { ...llm('b'), config: { provider: 'simulated', model: 'm', prompt: '{{nodes.a.output.text}}' } },
        ],
      },
      'unknown_template_reference',
      /node "b".*not among its dependencies/,
    ],
    [
      'an oversized definition',
      {
        name: 'w',
        nodes: [
          {
            ...llm('a'),
            config: {
              provider: 'simulated',
              model: 'm',
              prompt: 'x'.repeat(DEFINITION_LIMITS.maxDefinitionBytes),
            },
          },
        ],
      },
      'definition_too_large',
      /larger than/,
    ],
    ['no nodes', { name: 'w', nodes: [] }, 'invalid_definition', /at least one node/],
    [
      'a responseFormat schema that is not valid JSON Schema',
      {
        name: 'w',
        nodes: [
          {
            ...llm('classify'),
            config: {
              provider: 'simulated',
              model: 'm',
              prompt: 'classify',
              responseFormat: { type: 'json_schema', name: 'label', schema: { type: 'text' } },
            },
          },
        ],
      },
      'invalid_json_schema',
      /node "classify": the responseFormat schema is not a valid JSON Schema \(2020-12\): .*\/type/,
    ],
    [
      'a tool parameters schema with an unknown keyword',
      {
        name: 'w',
        nodes: [
          {
            id: 'helper',
            type: 'agent',
            config: {
              name: 'helper',
              provider: 'simulated',
              model: 'm',
              prompt: 'help',
              tools: [
                {
                  type: 'http',
                  name: 'lookup',
                  description: 'Look a word up',
                  url: 'https://dictionary.example/{{ args.word }}',
                  parameters: {
                    type: 'object',
                    properties: { word: { type: 'string' } },
                    requried: ['word'],
                  },
                },
              ],
            },
          },
        ],
      },
      'invalid_json_schema',
      /node "helper": the parameters of tool "lookup".*unknown keyword: "requried"/,
    ],
    [
      'a responseFormat pattern that cannot be matched in linear time (a backreference)',
      {
        name: 'w',
        nodes: [
          {
            ...llm('extract'),
            config: {
              provider: 'simulated',
              model: 'm',
              prompt: 'extract',
              responseFormat: {
                type: 'json_schema',
                name: 'pair',
                schema: { type: 'object', properties: { pair: { type: 'string', pattern: '^(\\w+)-\\1$' } } },
              },
            },
          },
        ],
      },
      'invalid_json_schema',
      /node "extract": the responseFormat schema .*pattern "\^\(\\\\w\+\)-\\\\1\$" is not supported.*without backreferences or lookarounds/,
    ],
  ];

  it.each(invalid)(
    'rejects %s with a distinct code, naming the node, and writes nothing',
    async (_label, workflow, code, message) => {
      const before = await counts();
      const asRun = await post('/v1/runs', { workflow, input: {} });
      expect(asRun.statusCode).toBe(400);
      expect(asRun.json().error.code).toBe(code);
      expect(asRun.json().error.message).toMatch(message);
      const asWorkflow = await post('/v1/workflows', workflow);
      expect(asWorkflow.statusCode).toBe(400);
      expect(asWorkflow.json().error.code).toBe(code);
      expect(await counts()).toEqual(before);
    },
  );

  it('rejects bad run inputs and request shapes with 400s', async () => {
    const ok = { name: 'ok', nodes: [llm('a')] };
    const before = await counts();
    const cases: [unknown, string][] = [
      [{ workflow: ok, input: 'text' }, 'invalid_input'],
      [{ workflow: ok, input: [1, 2] }, 'invalid_input'],
      [{ workflow: ok, input: { blob: 'x'.repeat(DEFINITION_LIMITS.maxInputBytes) } }, 'input_too_large'],
      [{ input: {} }, 'invalid_request'],
      [{ workflow: ok, workflowId: '00000000-0000-4000-8000-000000000000' }, 'invalid_request'],
      [{ workflowId: 'not-a-uuid' }, 'invalid_request'],
      [{ workflow: ok, surprise: true }, 'invalid_request'],
      [{ workflow: ok, idempotencyKey: '' }, 'invalid_request'],
    ];
    for (const [payload, code] of cases) {
      const response = await post('/v1/runs', payload);
      expect(response.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(response.json().error.code).toBe(code);
    }
    const notJson = await fleet.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { authorization: `Bearer ${fleet.apiKey}`, 'content-type': 'application/json' },
      payload: '{"workflow":',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.code).toBe('invalid_request');
    const unknownWorkflow = await post('/v1/runs', { workflowId: '00000000-0000-4000-8000-000000000000' });
    expect(unknownWorkflow.statusCode).toBe(404);
    expect(unknownWorkflow.json().error.code).toBe('not_found');
    // Only the valid definition may have been registered along the way; no run, node or event.
    const after = await counts();
    expect({ ...after, workflows: 0 }).toEqual({ ...before, workflows: 0 });
  });

  it('answers 401 without a valid key', async () => {
    for (const authorization of [undefined, 'Bearer ft_nope_nope', 'Basic abc', 'Bearer']) {
      const response = await fleet.app.inject({
        method: 'GET',
        url: '/v1/runs/00000000-0000-4000-8000-000000000000',
        headers: authorization ? { authorization } : {},
      });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('unauthorized');
    }
  });

  it('keeps tenants apart: another tenant gets 404 for a run, its events and its workflow', async () => {
    const created = await post('/v1/runs', { workflow: { name: 'mine', nodes: [llm('a')] }, input: {} });
    expect(created.statusCode).toBe(202);
    const { runId, workflowId } = created.json();
    const otherKey = await fleet.createKey('tenant-b');
    for (const url of [`/v1/runs/${runId}`, `/v1/runs/${runId}/events`, `/v1/workflows/${workflowId}`]) {
      const response = await fleet.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${otherKey}` },
      });
      expect(response.statusCode, url).toBe(404);
      expect(response.json().error.code).toBe('not_found');
    }
    const own = await fleet.app.inject({
      method: 'GET',
      url: `/v1/runs/${runId}`,
      headers: { authorization: `Bearer ${fleet.apiKey}` },
    });
    expect(own.statusCode).toBe(200);
    const reuse = await post('/v1/runs', { workflowId, input: {} }, otherKey);
    expect(reuse.statusCode).toBe(404);
  });

  it('serves an OpenAPI document and health routes', async () => {
    const doc = await fleet.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(Object.keys(doc.json().paths)).toEqual(
      expect.arrayContaining([
        '/v1/runs',
        '/v1/runs/{id}',
        '/v1/runs/{id}/events',
        '/v1/workflows',
        '/v1/workflows/{id}',
      ]),
    );
    expect((await fleet.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
