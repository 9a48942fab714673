import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { FakeOpenAiServer, startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCallingScript } from '../support/openai-tool-script.ts';
import { must, stackClient } from '../support/stack-client.ts';

/**
 * `OTEL_SDK_DISABLED=true` turns off recording and export, not propagation: the API (real process) still
 * continues the caller's trace, rows still carry its trace id, and the workers (real processes, no HTTP
 * instrumentation) still send a valid `traceparent` and the `tracestate` on every outgoing request: the
 * connector's, the agent's HTTP tool's and the LLM provider's.
 */
describe('trace context propagation with the OpenTelemetry SDK disabled', () => {
  let db: TestDatabase;
  let provider: FakeOpenAiServer;
  let target: TargetServer;
  let stack: LocalStack;
  let api: ReturnType<typeof stackClient>['api'];
  let waitForRun: ReturnType<typeof stackClient>['waitForRun'];

  beforeAll(async () => {
    [db, provider, target] = await Promise.all([
      createTestDatabase(),
      new FakeOpenAiServer().start(),
      startTargetServer(),
    ]);
    provider.setHandler(toolCallingScript(() => ({ orderId: 'o-9' })));
    target.on('GET', '/customers/c-9', { body: { id: 'c-9', name: 'Grace' } });
    target.on('GET', '/orders/o-9', { body: { id: 'o-9', status: 'shipped' } });
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-sdk-off-${process.pid}`,
      databaseUrl: db.url,
      workers: [{ kinds: ['llm'] }, { kinds: ['connector'] }, { kinds: ['agent'] }],
      env: {
        LOG_LEVEL: 'info',
        OTEL_SDK_DISABLED: 'true',
        OPENAI_BASE_URL: provider.baseUrl,
        OPENAI_API_KEY: 'sk-sdk-off-test',
        FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
      },
    });
    ({ api, waitForRun } = stackClient(stack));
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([db?.drop(), provider?.close(), target?.close()]);
  });

  const workflow = () => ({
    name: 'sdk-off',
    nodes: [
      {
        id: 'classify',
        type: 'llm',
        config: { provider: 'openai', model: 'gpt-4o-mini', prompt: 'Classify: {{input.ticket}}' },
      },
      {
        id: 'customer',
        type: 'connector',
        dependsOn: ['classify'],
        config: { url: `${target.url}/customers/c-9` },
      },
      {
        id: 'resolve',
        type: 'agent',
        dependsOn: ['customer'],
        config: {
          name: 'resolver',
          provider: 'openai',
          model: 'gpt-4o-mini',
          prompt: 'Customer {{nodes.customer.output.body.name}}',
          tools: [
            {
              type: 'http',
              name: 'order_status',
              description: 'Status of an order',
              url: `${target.url}/orders/{{args.orderId}}`,
              parameters: {
                type: 'object',
                properties: { orderId: { type: 'string' } },
                required: ['orderId'],
              },
            },
          ],
        },
      },
    ],
  });

  /** Every outgoing request the run made, to the target and to the provider, in the trace `traceId`. */
  const outgoingOf = (traceId: string) =>
    [...target.requests.map((r) => r.headers), ...provider.chatRequests.map((r) => r.headers)].filter((h) =>
      String(h.traceparent).startsWith(`00-${traceId}-`),
    );

  it("continues the caller's trace: rows and every outgoing request carry it, flags and tracestate unchanged", async () => {
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    const callerParent = 'b7ad6b7169203331';
    const submitted = await api(
      'POST',
      '/v1/runs',
      { workflow: workflow(), input: { ticket: 'late' } },
      {
        traceparent: `00-${callerTrace}-${callerParent}-03`,
        tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
      },
    );
    expect(submitted.status).toBe(202);
    expect(submitted.body.traceId).toBe(callerTrace);
    const run = await waitForRun(submitted.body.runId);
    expect(run.status, JSON.stringify(run.nodes)).toBe('completed');
    expect(run.traceId).toBe(callerTrace);

    const outgoing = outgoingOf(callerTrace);
    // classify, customer, two agent model calls and the agent's tool call.
    expect(outgoing.length).toBeGreaterThanOrEqual(5);
    const parents = new Set<string>();
    for (const headers of outgoing) {
      const match = new RegExp(`^00-${callerTrace}-([0-9a-f]{16})-03$`).exec(String(headers.traceparent));
      expect(match, String(headers.traceparent)).not.toBeNull();
      parents.add(must(match?.[1], 'parent-id'));
      expect(headers.tracestate).toBe('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    }
    // Each request has a parent-id of its own, none of them the caller's.
    expect(parents.size).toBe(outgoing.length);
    expect(parents.has(callerParent)).toBe(false);
    expect(parents.has('0'.repeat(16))).toBe(false);

    const sql = db.handle.sql;
    const rows = [
      ...(await sql`select trace_id, span_id from event_logs where run_id = ${submitted.body.runId}`),
      ...(await sql`select trace_id, span_id from model_cost_logs where run_id = ${submitted.body.runId}`),
    ];
    expect(rows.length).toBeGreaterThan(5);
    for (const row of rows) {
      expect(row.trace_id).toBe(callerTrace);
      expect(row.span_id).toMatch(/^[0-9a-f]{16}$/);
      expect(row.span_id).not.toBe('0'.repeat(16));
    }
  });

  it('starts a trace of its own without a caller context, not sampled (nothing records it) and random', async () => {
    const submitted = await api('POST', '/v1/runs', {
      workflow: workflow(),
      input: { ticket: 'late' },
    });
    expect(submitted.status).toBe(202);
    const traceId = submitted.body.traceId as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect((await waitForRun(submitted.body.runId)).status).toBe('completed');
    const outgoing = outgoingOf(traceId);
    expect(outgoing.length).toBeGreaterThanOrEqual(5);
    for (const headers of outgoing) {
      expect(String(headers.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-02$`));
      expect(headers.tracestate).toBeUndefined();
    }
    // Nothing was exported.
    expect(must(stack.receiver, 'the local OTLP receiver').spans()).toEqual([]);
  });
});
