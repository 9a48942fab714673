import { type InMemoryTracing, startInMemoryTracing } from '@flowtrace/telemetry/testing';
import {
  type JsonValue,
  type NodeExecutor,
  type NodeType,
  PermanentNodeError,
  TransientNodeError,
} from '@flowtrace/workflow';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { invokeCoveringRun } from '../support/invoke-coverage.ts';

/** Test executors: each returns what it saw, so the test can check inputs flowed along the DAG. */
const executions: { nodeId: string; attempt: number }[] = [];
function echoExecutor(type: NodeType): NodeExecutor {
  return {
    type,
    async execute(ctx) {
      executions.push({ nodeId: ctx.nodeId, attempt: ctx.attempt });
      const config = ctx.config as { behaviour?: string };
      if (
        ctx.input &&
        typeof ctx.input === 'object' &&
        (ctx.input as Record<string, JsonValue>).failAt === ctx.nodeId
      ) {
        throw new PermanentNodeError('provider_rejected', `node ${ctx.nodeId} was told to fail`);
      }
      if ((ctx.input as Record<string, JsonValue>).flakyAt === ctx.nodeId && ctx.attempt < 3) {
        throw new TransientNodeError('provider_error', 'upstream returned 500', { retryAfterMs: 10 });
      }
      void config;
      return { node: ctx.nodeId, upstream: Object.keys(ctx.upstream).sort() };
    },
  };
}

const diamond = {
  name: 'diamond',
  nodes: [
    {
      id: 'start',
      type: 'llm',
      config: { provider: 'simulated', model: 'sim', prompt: 'hi {{input.topic}}' },
    },
    {
      id: 'left',
      type: 'connector',
      dependsOn: ['start'],
      config: { url: 'https://example.test/{{nodes.start.output.node}}' },
    },
    { id: 'right', type: 'rag', dependsOn: ['start'], config: { collection: 'kb', query: 'q' } },
    {
      id: 'join',
      type: 'llm',
      dependsOn: ['left', 'right'],
      retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10, jitter: 0 } },
      config: {
        provider: 'simulated',
        model: 'sim',
        prompt: '{{nodes.left.output.node}} {{nodes.right.output.node}}',
      },
    },
  ],
};

describe('run lifecycle (in-process API and workers, real Postgres and Redis)', () => {
  let tracing: InMemoryTracing;
  let fleet: InProcessFleet;
  const auth = () => ({ authorization: `Bearer ${fleet.apiKey}` });

  beforeAll(async () => {
    tracing = startInMemoryTracing();
    fleet = await startInProcessFleet({
      executors: (['llm', 'agent', 'connector', 'rag'] as const).map(echoExecutor),
      deferredSpans: tracing.deferredSpans,
    });
  });
  afterAll(async () => {
    await fleet?.close();
    await tracing?.shutdown();
  });

  it('runs a fan-out/fan-in workflow once per node, passing outputs downstream', async () => {
    executions.length = 0;
    const response = await fleet.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: auth(),
      payload: { workflow: diamond, input: { topic: 'refunds' } },
    });
    expect(response.statusCode).toBe(202);
    const { runId, traceId } = response.json();
    const run = await fleet.waitForRun(runId);
    expect(run.status).toBe('completed');
    expect(executions.filter((e) => e.nodeId === 'join')).toHaveLength(1);
    expect(executions.map((e) => e.nodeId).sort()).toEqual(['join', 'left', 'right', 'start']);
    const nodes = run.nodes as { nodeId: string; status: string; output: { upstream: string[] } }[];
    expect(nodes.map((n) => `${n.nodeId} ${n.status}`).sort()).toEqual([
      'join completed',
      'left completed',
      'right completed',
      'start completed',
    ]);
    expect(nodes.find((n) => n.nodeId === 'join')?.output.upstream).toEqual(['left', 'right', 'start']);
    expect(run.output).toEqual({ join: { node: 'join', upstream: ['left', 'right', 'start'] } });
    expect(run.traceId).toBe(traceId);
    // Each node's input is its configuration as stored (defaults filled in), templates unrendered.
    const inputs = Object.fromEntries(
      (run.nodes as { nodeId: string; input: unknown }[]).map((n) => [n.nodeId, n.input]),
    );
    expect(inputs).toMatchObject(Object.fromEntries(diamond.nodes.map((n) => [n.id, n.config])));
    expect(inputs.start).toEqual({ provider: 'simulated', model: 'sim', prompt: 'hi {{input.topic}}' });
    expect(inputs.left).toEqual({
      method: 'GET',
      responseType: 'auto',
      url: 'https://example.test/{{nodes.start.output.node}}',
    });

    const events = (
      await fleet.app.inject({ method: 'GET', url: `/v1/runs/${runId}/events`, headers: auth() })
    ).json().events as { type: string; traceId: string }[];
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'run.queued',
        'run.started',
        'node.started',
        'node.completed',
        'run.completed',
      ]),
    );
    expect(events.filter((e) => e.type === 'run.completed')).toHaveLength(1);
    expect(new Set(events.map((e) => e.traceId))).toEqual(new Set([traceId]));

    // The trace: invoke_workflow is emitted once the run ends, covering every span of the run in time; every
    // span belongs to the run's trace.
    const invoke = await invokeCoveringRun(() => tracing.spans(), traceId);
    expect(invoke.name).toBe('invoke_workflow diamond');
    const runSpans = tracing.spans().filter((s) => s.spanContext().traceId === traceId);
    const ids = new Set(runSpans.map((s) => s.spanContext().spanId));
    const orphans = runSpans.filter((s) => s.parentSpanContext && !ids.has(s.parentSpanContext.spanId));
    // Without an HTTP server span (inject), invoke_workflow is the root and every other span descends from it.
    expect(orphans.map((s) => s.name)).toEqual([]);
    expect(invoke?.parentSpanContext).toBeUndefined();
    expect(runSpans.filter((s) => !s.parentSpanContext).map((s) => s.name)).toEqual([
      'invoke_workflow diamond',
    ]);
    const consumers = runSpans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(consumers.map((s) => s.name).sort()).toEqual([
      'process nodes.connector',
      'process nodes.llm',
      'process nodes.llm',
      'process nodes.rag',
    ]);
    const join = consumers.find((s) => s.attributes['flowtrace.node.id'] === 'join');
    expect(join?.links).toHaveLength(1);
    expect(join?.attributes).toMatchObject({
      'flowtrace.run.id': runId,
      'flowtrace.node.type': 'llm',
      'flowtrace.node.attempt': 1,
    });
  });

  it('retries a transient failure and records each attempt', async () => {
    executions.length = 0;
    const response = await fleet.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: auth(),
      payload: { workflow: diamond, input: { topic: 'x', flakyAt: 'join' } },
    });
    const run = await fleet.waitForRun(response.json().runId);
    expect(run.status).toBe('completed');
    expect(executions.filter((e) => e.nodeId === 'join').map((e) => e.attempt)).toEqual([1, 2, 3]);
    const join = (run.nodes as { nodeId: string; attempts: number }[]).find((n) => n.nodeId === 'join');
    expect(join?.attempts).toBe(3);
    const events = (
      await fleet.app.inject({
        method: 'GET',
        url: `/v1/runs/${response.json().runId}/events`,
        headers: auth(),
      })
    ).json().events as { type: string; attempt: number }[];
    expect(events.filter((e) => e.type === 'node.retried').map((e) => e.attempt)).toEqual([1, 2]);
  });

  it('fails the run on a permanent error and skips what had not started', async () => {
    const response = await fleet.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: auth(),
      payload: { workflow: diamond, input: { topic: 'x', failAt: 'start' } },
    });
    const run = await fleet.waitForRun(response.json().runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'provider_rejected', nodeId: 'start' });
    const statuses = Object.fromEntries(
      (run.nodes as { nodeId: string; status: string }[]).map((n) => [n.nodeId, n.status]),
    );
    expect(statuses).toEqual({ start: 'failed', left: 'skipped', right: 'skipped', join: 'skipped' });
    const invoke = await invokeCoveringRun(() => tracing.spans(), run.traceId as string);
    expect(invoke.status.code).toBe(2);
  });

  it('dispatches a join node exactly once when many predecessors finish together', async () => {
    executions.length = 0;
    const branches = Array.from({ length: 16 }, (_, i) => ({
      id: `b${i}`,
      type: 'connector',
      dependsOn: ['split'],
      config: { url: 'https://example.test/' },
    }));
    const wide = {
      name: 'wide',
      nodes: [
        { id: 'split', type: 'llm', config: { provider: 'simulated', model: 'sim', prompt: 'go' } },
        ...branches,
        {
          id: 'join',
          type: 'llm',
          dependsOn: branches.map((b) => b.id),
          config: { provider: 'simulated', model: 'sim', prompt: 'done' },
        },
      ],
    };
    const runIds = await Promise.all(
      Array.from(
        { length: 6 },
        async () =>
          (
            await fleet.app.inject({
              method: 'POST',
              url: '/v1/runs',
              headers: auth(),
              payload: { workflow: wide },
            })
          ).json().runId as string,
      ),
    );
    for (const runId of runIds) expect((await fleet.waitForRun(runId)).status).toBe('completed');
    expect(executions.filter((e) => e.nodeId === 'join')).toHaveLength(runIds.length);
    const [row] = await fleet.db.handle.sql`
      select count(*)::int as n from event_logs where run_id = any(${runIds}) and type = 'node.started' and node_id = 'join'`;
    expect(row?.n).toBe(runIds.length);
  });
});
