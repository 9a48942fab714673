import type { RunEvent } from '@flowtrace/client';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '@flowtrace/db';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { FakeOpenAiServer, startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import type { ReceivedSpan } from '@flowtrace/telemetry/receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCallingScript } from '../support/openai-tool-script.ts';
import { flowtraceClient, must, stackClient, waitUntil } from '../support/stack-client.ts';

/**
 * The foundation's end-to-end test: the API and four worker processes (one per node type) as real child
 * processes on real Postgres and Redis, exporting over OTLP/HTTP to a receiver on loopback, with loopback
 * HTTP servers standing in for the LLM provider and the connector's target.
 */
describe('one trace per run across the API and the worker fleet', () => {
  let db: TestDatabase;
  let vectorDb: EmbeddedPostgres;
  let provider: FakeOpenAiServer;
  let target: TargetServer;
  let stack: LocalStack;

  let api: ReturnType<typeof stackClient>['api'];
  let waitForRun: ReturnType<typeof stackClient>['waitForRun'];
  let traceOf: ReturnType<typeof stackClient>['traceOf'];

  beforeAll(async () => {
    [db, vectorDb, provider, target] = await Promise.all([
      createTestDatabase(),
      startEmbeddedPostgres({}),
      new FakeOpenAiServer().start(),
      startTargetServer(),
    ]);
    provider.setHandler(toolCallingScript(() => ({ orderId: 'o-77' })));
    target.on('GET', '/customers/c-1', { body: { id: 'c-1', name: 'Ada', plan: 'business' } });
    target.on('GET', '/orders/o-77', { body: { id: 'o-77', status: 'delayed' } });
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-e2e-${process.pid}`,
      databaseUrl: db.url,
      vectorDatabaseUrl: vectorDb.url,
      env: {
        LOG_LEVEL: 'info',
        OPENAI_BASE_URL: provider.baseUrl,
        OPENAI_API_KEY: 'sk-e2e-test',
        FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
      },
    });
    ({ api, waitForRun, traceOf } = stackClient(stack));
    const ingest = await api('POST', '/v1/collections/policies/documents', {
      documents: [
        { source: 'late.md', content: 'Late deliveries get a 10% credit and a carrier status update.' },
        { source: 'refund.md', content: 'Refunds go back to the original payment method within 5 days.' },
      ],
    });
    expect(ingest.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([db?.drop(), vectorDb?.stop(), provider?.close(), target?.close()]);
  });

  const workflow = () => ({
    name: 'e2e-support',
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
        config: { url: `${target.url}/customers/{{input.customerId}}` },
      },
      {
        id: 'policy',
        type: 'rag',
        dependsOn: ['classify'],
        config: { collection: 'policies', query: '{{input.ticket}}', topK: 1 },
      },
      {
        id: 'resolve',
        type: 'agent',
        dependsOn: ['customer', 'policy'],
        config: {
          name: 'resolver',
          provider: 'openai',
          model: 'gpt-4o-mini',
          prompt:
            'Customer {{nodes.customer.output.body.name}}; policy {{nodes.policy.output.chunks[0].content}}',
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

  it('runs every node type and produces one connected trace with correlated rows', async () => {
    const client = flowtraceClient(stack);
    const submitted = await client.submitRun({
      workflow: workflow(),
      input: { ticket: 'My order is late', customerId: 'c-1' },
    });
    const runId = submitted.runId;
    // Followed live: the workers' commits reach the API's stream (Redis wake-ups, reads by seq).
    const streamed: RunEvent[] = [];
    for await (const event of client.streamEvents(runId)) streamed.push(event);
    expect(streamed.at(-1)?.type).toBe('run.completed');
    expect(streamed).toEqual((await client.listEvents(runId, { limit: 1000 })).events);
    const run = await client.waitForRun(runId);
    expect(run.status, JSON.stringify(run.nodes)).toBe('completed');
    const traceId = run.traceId;
    expect(submitted.traceId).toBe(traceId);

    const spans = await traceOf(traceId);
    const ids = new Set(spans.map((s) => s.spanId));
    // Every span that names this run is in its trace, and the trace is connected: one root, no orphans.
    const runSpans = spans.filter((s) => s.attributes['flowtrace.run.id'] === runId);
    expect(runSpans.length).toBeGreaterThan(8);
    const roots = spans.filter((s) => !s.parentSpanId);
    expect(roots.map((s) => s.name)).toEqual(['POST /v1/runs']);
    expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
    // The API and four separate worker processes.
    const instances = new Set(spans.map((s) => s.resource['service.instance.id']));
    expect(instances.size).toBeGreaterThanOrEqual(5);
    const services = new Set(spans.map((s) => s.resource['service.name']));
    expect(services).toEqual(
      new Set([
        'flowtrace-api',
        'flowtrace-worker-llm',
        'flowtrace-worker-connector',
        'flowtrace-worker-rag',
        'flowtrace-worker-agent',
      ]),
    );

    // invoke_workflow is the request's child and the ancestor of every node span.
    const invoke = must(
      spans.find((s) => s.name === 'invoke_workflow e2e-support'),
      'the invoke_workflow span',
    );
    expect(invoke.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_workflow',
      'flowtrace.run.id': runId,
    });
    // And it covers them in time: no span of the run starts before it or ends after it.
    const descendants = spans.filter((s) => {
      for (let p = s.parentSpanId; p; p = spans.find((x) => x.spanId === p)?.parentSpanId)
        if (p === invoke.spanId) return true;
      return false;
    });
    expect(descendants.length).toBeGreaterThan(8);
    for (const span of descendants) {
      expect(span.startTimeUnixNano >= invoke.startTimeUnixNano, `${span.name} starts within the run`).toBe(
        true,
      );
      expect(
        span.endTimeUnixNano <= invoke.endTimeUnixNano,
        `${span.name} (${span.resource['service.name']}) ends ${span.endTimeUnixNano - invoke.endTimeUnixNano} ns after invoke_workflow`,
      ).toBe(true);
    }
    const consumers = spans.filter((s) => s.kind === 'CONSUMER');
    expect(consumers.map((s) => s.attributes['flowtrace.node.id']).sort()).toEqual([
      'classify',
      'customer',
      'policy',
      'resolve',
    ]);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (span: ReceivedSpan) => {
      const chain: string[] = [];
      for (
        let p = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
        p;
        p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined
      ) {
        chain.push(p.name);
      }
      return chain;
    };
    for (const consumer of consumers) {
      expect(ancestors(consumer)).toContain('invoke_workflow e2e-support');
      expect(consumer.attributes).toMatchObject({
        'flowtrace.workflow.id': run.workflowId,
        'flowtrace.run.id': runId,
        'flowtrace.node.type': expect.any(String),
        'flowtrace.tenant.id': stack.tenantId,
        'flowtrace.node.attempt': 1,
        'messaging.system': 'bullmq',
      });
    }

    // The join node's parent is one predecessor's send span; it links to the other predecessor.
    const consumer = (nodeId: string) =>
      must(
        consumers.find((s) => s.attributes['flowtrace.node.id'] === nodeId),
        nodeId,
      );
    const [resolve, customer, policy] = [consumer('resolve'), consumer('customer'), consumer('policy')];
    const parentSend = must(byId.get(resolve.parentSpanId ?? ''), "the join node's parent");
    expect(parentSend.kind).toBe('PRODUCER');
    const dispatcher = must(byId.get(parentSend.parentSpanId ?? ''), 'the dispatching consumer');
    const other = dispatcher.spanId === customer.spanId ? policy : customer;
    expect([customer.spanId, policy.spanId]).toContain(dispatcher.spanId);
    expect(resolve.links.map((l) => l.spanId)).toEqual([other.spanId]);

    // GenAI spans of the LLM, agent and RAG work.
    expect(spans.filter((s) => s.name === 'chat gpt-4o-mini').length).toBeGreaterThanOrEqual(3);
    expect(spans.some((s) => s.name === 'invoke_agent resolver')).toBe(true);
    expect(spans.some((s) => s.name === 'execute_tool order_status')).toBe(true);
    expect(spans.some((s) => s.name === 'retrieval policies')).toBe(true);

    // Prompt and completion text stay off spans unless capture is opted in (it is not here).
    const spanText = JSON.stringify(spans, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    expect(spanText).not.toContain('My order is late');
    expect(spans.some((s) => 'gen_ai.input.messages' in s.attributes)).toBe(false);

    // The connector's target (and the agent's tool target) received the run's trace context.
    const calls = target.requests.filter((r) => r.path === '/customers/c-1' || r.path === '/orders/o-77');
    expect(calls.length).toBe(2);
    // Sampled, and random: the trace id was generated here at random (W3C Level 2 "random" flag).
    for (const call of calls)
      expect(String(call.headers.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-03$`));
    // And so did the LLM provider.
    expect(provider.chatRequests.length).toBeGreaterThan(0);
    for (const request of provider.chatRequests)
      expect(String(request.headers.traceparent)).toMatch(new RegExp(`^00-${traceId}-`));

    // Every correlated row carries the run's trace id and the id of a span in the trace.
    const sql = db.handle.sql;
    const rows = [
      ...(await sql`select 'event' as kind, trace_id, span_id from event_logs where run_id = ${runId}`),
      ...(await sql`select 'cost' as kind, trace_id, span_id from model_cost_logs where run_id = ${runId}`),
      ...(await sql`select 'agent' as kind, trace_id, span_id from agent_trace_history where run_id = ${runId}`),
    ];
    expect(rows.filter((r) => r.kind === 'cost').length).toBeGreaterThanOrEqual(4);
    expect(rows.filter((r) => r.kind === 'agent').length).toBeGreaterThanOrEqual(2);
    for (const row of rows) {
      expect(row.trace_id).toBe(traceId);
      expect(ids.has(row.span_id), `${row.kind} row span ${row.span_id}`).toBe(true);
    }
  });

  it('stops the running branches of a run a node fails, and records invoke_workflow after their spans end', async () => {
    // The slow branch's request is held open until the test ends; the fast branch's model call fails (a 400)
    // once that request has arrived, so the run fails while the slow node is running, in another process.
    let holdArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      holdArrived = resolve;
    });
    let releaseHold: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      releaseHold = resolve;
    });
    target.on('GET', '/hold', async () => {
      holdArrived();
      await released;
      return { body: { late: true } };
    });
    target.on('GET', '/after', { body: { ran: true } });
    const script = toolCallingScript(() => ({ orderId: 'o-77' }));
    provider.setHandler(async (request) => {
      if ((request.body as { model?: string }).model !== 'fail-fast') return script(request);
      await arrived;
      return {
        status: 400,
        body: { error: { message: 'this model is told to fail', type: 'invalid_request_error' } },
      };
    });
    try {
      const submitted = await api('POST', '/v1/runs', {
        workflow: {
          name: 'e2e-fail-fast',
          nodes: [
            { id: 'fast', type: 'llm', config: { provider: 'openai', model: 'fail-fast', prompt: 'fail' } },
            // A timeout far past the test's deadlines: only the stop can end this node in time.
            { id: 'slow', type: 'connector', timeoutMs: 600_000, config: { url: `${target.url}/hold` } },
            { id: 'after', type: 'connector', dependsOn: ['slow'], config: { url: `${target.url}/after` } },
          ],
        },
        input: {},
      });
      expect(submitted.status).toBe(202);
      const runId = submitted.body.runId as string;
      const run = await waitForRun(runId);
      expect(run.status).toBe('failed');
      expect(run.error).toMatchObject({ nodeId: 'fast' });

      // The slow node is stopped as on cancel: cancelled with the reason, its successor skipped, never run.
      const nodeOf = async (nodeId: string) =>
        ((await api('GET', `/v1/runs/${runId}`)).body.nodes as { nodeId: string; status: string }[]).find(
          (n) => n.nodeId === nodeId,
        );
      await waitUntil(async () => (await nodeOf('slow'))?.status === 'cancelled', 'the slow node to stop');
      expect(await nodeOf('slow')).toMatchObject({
        status: 'cancelled',
        error: {
          code: 'cancelled',
          message: expect.stringContaining('stopped because node "fast" failed the run'),
        },
      });
      expect((await nodeOf('after'))?.status).toBe('skipped');
      const events = (await api('GET', `/v1/runs/${runId}/events?limit=1000`)).body.events as {
        type: string;
        nodeId: string | null;
      }[];
      const slowEvents = events.filter((e) => e.nodeId === 'slow').map((e) => e.type);
      expect(slowEvents).toContain('node.cancelled');
      expect(slowEvents).not.toContain('node.completed');
      expect(target.requests.filter((r) => r.path === '/after')).toEqual([]);

      // invoke_workflow (recorded once the slow node's span had ended, by whichever process saw the run
      // settle) covers every span of the run, the stopped node's included.
      const spans = await traceOf(run.traceId as string);
      const invoke = must(
        spans.find((s) => s.name === 'invoke_workflow e2e-fail-fast'),
        'the invoke_workflow span',
      );
      expect(invoke.status.code).toBe('ERROR');
      expect(invoke.attributes['flowtrace.run.status']).toBe('failed');
      const descendants = spans.filter((s) => {
        for (let p = s.parentSpanId; p; p = spans.find((x) => x.spanId === p)?.parentSpanId)
          if (p === invoke.spanId) return true;
        return false;
      });
      const consumers = descendants.filter((s) => s.kind === 'CONSUMER');
      expect(consumers.map((s) => s.attributes['flowtrace.node.id']).sort()).toEqual(['fast', 'slow']);
      for (const span of descendants) {
        expect(
          span.endTimeUnixNano <= invoke.endTimeUnixNano,
          `${span.name} (${span.resource['service.name']}) ends ${span.endTimeUnixNano - invoke.endTimeUnixNano} ns after invoke_workflow`,
        ).toBe(true);
      }
    } finally {
      releaseHold();
      provider.setHandler(script);
    }
  });

  it("joins the caller's trace when a traceparent is sent, and starts a new one when it is malformed", async () => {
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const joined = await api(
      'POST',
      '/v1/runs',
      { workflow: workflow(), input: { ticket: 'x', customerId: 'c-1' } },
      {
        // Sampled and random, with another vendor's tracestate (a key the current W3C grammar allows).
        traceparent: `00-${callerTrace}-00f067aa0ba902b7-03`,
        tracestate: 'congo=t61rcWkgMzE,rojo@tenant-1=00f067aa0ba902b7',
      },
    );
    expect(joined.status).toBe(202);
    expect(joined.body.traceId).toBe(callerTrace);

    for (const traceparent of [
      '00-zzzz-00f067aa0ba902b7-01',
      `00-${callerTrace}-00f067aa0ba902b7-01-${'x'.repeat(600)}`,
      'ff-00000000000000000000000000000000-0000000000000000-00',
    ]) {
      const fresh = await api(
        'POST',
        '/v1/runs',
        { workflow: workflow(), input: { ticket: 'x', customerId: 'c-1' } },
        {
          traceparent,
          tracestate: `k=${'v'.repeat(600)}`,
          baggage: 'a'.repeat(9000),
        },
      );
      expect(fresh.status).toBe(202);
      expect(fresh.body.traceId).not.toBe(callerTrace);
      expect(fresh.body.traceId).toMatch(/^[0-9a-f]{32}$/);
    }
    // Health checks are left out of tracing.
    for (const path of ['/healthz', '/readyz'])
      expect((await fetch(`${stack.apiUrl}${path}`)).status).toBe(200);
    const run = await waitForRun(joined.body.runId);
    expect(run.status).toBe('completed');
    const receiver = must(stack.receiver, 'the local OTLP receiver');
    expect(
      receiver
        .spans()
        .filter((s) => /healthz|readyz/.test(`${s.name} ${String(s.attributes['url.path'] ?? '')}`)),
    ).toEqual([]);
    const spans = await traceOf(callerTrace);
    // The caller's span is the parent of our server span: the only span whose parent is not exported.
    expect(
      spans
        .filter((s) => s.parentSpanId && !spans.some((p) => p.spanId === s.parentSpanId))
        .map((s) => s.name),
    ).toEqual(['POST /v1/runs']);
    // The caller's context went on whole to every outgoing request of the run: trace id, both flags and
    // its tracestate, each request with a parent-id of its own.
    const outgoing = [
      ...target.requests.map((r) => r.headers),
      ...provider.chatRequests.map((r) => r.headers),
    ].filter((h) => String(h.traceparent).startsWith(`00-${callerTrace}-`));
    expect(outgoing.length).toBeGreaterThanOrEqual(5);
    for (const headers of outgoing) {
      expect(String(headers.traceparent)).toMatch(new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-03$`));
      expect(headers.tracestate).toBe('congo=t61rcWkgMzE,rojo@tenant-1=00f067aa0ba902b7');
    }
    expect(new Set(outgoing.map((h) => h.traceparent)).size).toBe(outgoing.length);
    // The spans carry it too.
    expect(spans.find((s) => s.name.startsWith('invoke_workflow'))?.traceState).toBe(
      'congo=t61rcWkgMzE,rojo@tenant-1=00f067aa0ba902b7',
    );
  });
});
