import type { AddressInfo } from 'node:net';
import { ConflictError, FlowtraceClient, isApiError, NotFoundError, type Run } from '@flowtrace/client';
import { NO_LIMITS } from '@flowtrace/engine';
import { createExecutorSuite, loadExecutorsConfig } from '@flowtrace/executors';
import { startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { createLogger } from '@flowtrace/telemetry';
import { type InMemoryTracing, startInMemoryTracing } from '@flowtrace/telemetry/testing';
import { SpanKind, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';

const sim = (prompt: string) => ({ provider: 'simulated', model: 'sim-small', prompt });

/**
 * A fan-in workflow with real executors: `a` (LLM) feeds a connector `b` and an agent `c` (one HTTP tool
 * call), which meet in the connector `join`; `after` summarises. The target answers `join` with a 400 the
 * first time (the node fails for good, and with it the run), then with 200.
 */
function fanIn(target: string) {
  return {
    name: 'fan-in-replay',
    nodes: [
      { id: 'a', type: 'llm', config: sim('Topic: {{input.topic}}') },
      { id: 'b', type: 'connector', dependsOn: ['a'], config: { url: `${target}/customer` } },
      {
        id: 'c',
        type: 'agent',
        dependsOn: ['a'],
        config: {
          name: 'checker',
          ...sim('Check order o-1 for {{input.topic}}'),
          tools: [
            {
              type: 'http',
              name: 'order_status',
              description: 'Status of an order',
              url: `${target}/orders/{{args.orderId}}`,
              parameters: {
                type: 'object',
                properties: { orderId: { type: 'string', pattern: '^o-[0-9]+$' } },
                required: ['orderId'],
              },
            },
          ],
          maxSteps: 3,
        },
      },
      { id: 'join', type: 'connector', dependsOn: ['b', 'c'], config: { url: `${target}/join` } },
      { id: 'after', type: 'llm', dependsOn: ['join'], config: sim('Done: {{nodes.join.output.status}}') },
    ],
  };
}

describe('replay from a failed join, and the runs list', () => {
  let tracing: InMemoryTracing;
  let target: TargetServer;
  let fleet: InProcessFleet;
  let client: FlowtraceClient;
  let baseUrl: string;
  let joinCalls = 0;
  let original: Run;

  const costRows = async (runId: string) =>
    (
      await fleet.db.handle.sql`select node_id from model_cost_logs where run_id = ${runId} order by node_id`
    ).map((r) => r.node_id as string);
  const hits = (path: string) => target.requests.filter((r) => r.path.startsWith(path)).length;

  beforeAll(async () => {
    tracing = startInMemoryTracing();
    target = await startTargetServer();
    target.on('GET', '/customer', { body: { name: 'Ada' } });
    target.on('GET', '/orders/o-1', { body: { status: 'shipped' } });
    target.on('GET', '/join', () => {
      joinCalls++;
      return joinCalls === 1 ? { status: 400, body: { error: 'not yet' } } : { body: { ok: true } };
    });
    target.on('GET', '/slow', { delayMs: 4_000, body: {} });
    const suite = createExecutorSuite(
      loadExecutorsConfig({ FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1' }),
      {
        tracer: trace.getTracer('test'),
        logger: createLogger({ name: 'test', level: 'silent' }),
      },
    );
    fleet = await startInProcessFleet({ executors: suite.executors, deferredSpans: tracing.deferredSpans });
    await fleet.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(fleet.app.server.address() as AddressInfo).port}`;
    client = new FlowtraceClient({ baseUrl, apiKey: fleet.apiKey });

    const workflow = await client.registerWorkflow(fanIn(target.url));
    const { runId } = await client.submitRun({ workflowId: workflow.id, input: { topic: 'refunds' } });
    original = await client.waitForRun(runId, { timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await fleet?.close();
    await target?.close();
    await tracing?.shutdown();
  });

  it('the original run failed at the join, after every upstream node ran once', async () => {
    expect(original.status).toBe('failed');
    expect(original.error).toMatchObject({ nodeId: 'join' });
    const status = Object.fromEntries(original.nodes.map((n) => [n.nodeId, n.status]));
    expect(status).toEqual({
      a: 'completed',
      b: 'completed',
      c: 'completed',
      join: 'failed',
      after: 'skipped',
    });
    expect(hits('/customer')).toBe(1);
    expect(hits('/orders')).toBe(1);
    expect(await costRows(original.id)).toEqual(['a', 'c', 'c']);
    const join = original.nodes.find((n) => n.nodeId === 'join');
    expect(join?.dependsOn).toEqual(['b', 'c']);
    const c = original.nodes.find((n) => n.nodeId === 'c');
    expect(c?.usage.inputTokens).toBeGreaterThan(0);
    expect(original.replayOf).toBeNull();
    const steps = (await client.getRunSteps(original.id)).steps;
    expect(steps.map((s) => [s.nodeId, s.step, s.kind, s.toolName])).toEqual([
      ['c', 1, 'tool_call', 'order_status'],
      ['c', 2, 'message', null],
    ]);
    expect(steps[0]?.traceId).toBe(original.traceId);
  });

  it('replays the join without executing the upstream nodes again, in a new trace linked to the old', async () => {
    const accepted = await client.replayRun(original.id, { idempotencyKey: 'replay-join-1' });
    expect(accepted).toMatchObject({ replayOf: original.id, status: 'queued', replayed: false });
    expect(accepted.traceUrl).toBe(`http://signoz.test:8080/trace/${accepted.traceId}`);
    const replay = await client.waitForRun(accepted.runId, { timeoutMs: 30_000 });
    expect(replay.status).toBe('completed');
    expect(replay.workflowId).toBe(original.workflowId);
    expect(replay.input).toEqual(original.input);

    // Upstream: no second connector call, no second agent tool call, no second cost row.
    expect(hits('/customer')).toBe(1);
    expect(hits('/orders')).toBe(1);
    expect(joinCalls).toBe(2);
    expect(await costRows(replay.id)).toEqual(['after']);
    expect(await costRows(original.id)).toEqual(['a', 'c', 'c']);
    const byId = new Map(replay.nodes.map((n) => [n.nodeId, n]));
    for (const id of ['a', 'b', 'c']) {
      expect(byId.get(id)).toMatchObject({
        status: 'completed',
        reused: true,
        attempts: 0,
        usage: { inputTokens: 0 },
      });
      expect(byId.get(id)?.output).toEqual(original.nodes.find((n) => n.nodeId === id)?.output);
    }
    expect(byId.get('join')).toMatchObject({ status: 'completed', reused: false, attempts: 1 });
    expect(replay.usage.modelCalls).toBe(1);

    // Both runs point at each other.
    expect(replay.replayOf).toBe(original.id);
    expect((await client.getRun(original.id)).replays).toEqual([replay.id]);
    const events = (await client.listEvents(replay.id)).events;
    expect(events.slice(0, 4).map((e) => `${e.type} ${e.nodeId ?? ''}`.trim())).toEqual([
      'run.queued',
      'node.reused a',
      'node.reused b',
      'node.reused c',
    ]);
    expect(events[0]?.data).toMatchObject({ replayOf: original.id, fromNodes: ['join'] });

    // Its own trace; invoke_workflow links to the original's, and the join's consumer span to b and c.
    expect(replay.traceId).not.toBe(original.traceId);
    const invoke = (traceId: string) =>
      tracing
        .spans()
        .find((s) => s.name === 'invoke_workflow fan-in-replay' && s.spanContext().traceId === traceId);
    const originalInvoke = invoke(original.traceId);
    const replayInvoke = invoke(replay.traceId);
    expect(originalInvoke && replayInvoke).toBeTruthy();
    expect(replayInvoke?.links.map((l) => [l.context.traceId, l.context.spanId, l.attributes])).toEqual([
      [
        original.traceId,
        originalInvoke?.spanContext().spanId,
        { 'flowtrace.link.type': 'replay_of', 'flowtrace.run.id': original.id },
      ],
    ]);
    const joinSpan = tracing
      .spans()
      .find(
        (s) =>
          s.kind === SpanKind.CONSUMER &&
          s.spanContext().traceId === replay.traceId &&
          s.attributes['flowtrace.node.id'] === 'join',
      );
    const upstreamSpans = ['b', 'c'].map((id) => original.nodes.find((n) => n.nodeId === id)?.spanId);
    expect(joinSpan?.links.map((l) => l.context.spanId).sort()).toEqual(upstreamSpans.sort());
    expect(
      tracing
        .spans()
        .filter(
          (s) => s.spanContext().traceId === replay.traceId && s.attributes['flowtrace.node.id'] === 'b',
        ),
    ).toEqual([]);

    // The same key returns the same replay; another request with it is a conflict.
    const again = await client.replayRun(original.id, { idempotencyKey: 'replay-join-1' });
    expect(again).toMatchObject({ runId: replay.id, replayed: true });
    await expect(
      client.replayRun(original.id, { idempotencyKey: 'replay-join-1', fromNodes: ['a'] }),
    ).rejects.toSatisfy((e) => e instanceof ConflictError && e.code === 'idempotency_conflict');
    await expect(
      client.submitRun({ workflowId: original.workflowId, idempotencyKey: 'replay-join-1' }),
    ).rejects.toSatisfy((e) => isApiError(e, 'idempotency_conflict'));

    // A completed run replays only named nodes (and what follows them).
    await expect(client.replayRun(replay.id)).rejects.toSatisfy((e) => isApiError(e, 'nothing_to_replay'));
    const fromB = await client.replayRun(replay.id, { fromNodes: ['b'] });
    const second = await client.waitForRun(fromB.runId, { timeoutMs: 30_000 });
    expect(second.status).toBe('completed');
    expect(
      second.nodes
        .filter((n) => n.reused)
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(hits('/customer')).toBe(2);
    expect(hits('/orders')).toBe(1);
  });

  it('refuses what cannot be replayed with a clear code', async () => {
    const other = new FlowtraceClient({ baseUrl, apiKey: await fleet.createKey('tenant-b') });
    await expect(other.replayRun(original.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.replayRun('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(client.replayRun(original.id, { fromNodes: ['join', 'nope'] })).rejects.toSatisfy(
      (e) => isApiError(e, 'replay_node_not_found') && e.status === 409 && e.message.includes('"nope"'),
    );
    await expect(client.replayRun(original.id, { fromNodes: [] })).rejects.toSatisfy((e) =>
      isApiError(e, 'invalid_request'),
    );
    const slow = await client.submitRun({
      workflow: {
        name: 'slow',
        nodes: [{ id: 's', type: 'connector', config: { url: `${target.url}/slow` } }],
      },
    });
    await expect(client.replayRun(slow.runId)).rejects.toSatisfy(
      (e) => isApiError(e, 'run_not_finished') && e.status === 409,
    );
    await client.cancelRun(slow.runId);
    expect((await client.waitForRun(slow.runId)).status).toBe('cancelled');

    // A replay is a new run: the tenant's budgets apply to it as to any other.
    await fleet.limits.set(fleet.tenantId, 'operator', { ...NO_LIMITS, dailyTokens: 1 });
    try {
      await expect(client.replayRun(original.id)).rejects.toSatisfy((e) => isApiError(e, 'budget_exceeded'));
    } finally {
      await fleet.limits.set(fleet.tenantId, 'operator', NO_LIMITS);
    }
  });

  it('lists the tenant runs newest first, filtered, with an opaque cursor', async () => {
    const all = [];
    for await (const run of client.iterateRuns({ limit: 2 })) all.push(run);
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
    const created = all.map((r) => r.createdAt);
    expect(created).toEqual([...created].sort().reverse());
    const first = all.find((r) => r.id === original.id);
    expect(first).toMatchObject({
      workflowName: 'fan-in-replay',
      status: 'failed',
      replayOf: null,
      traceUrl: `http://signoz.test:8080/trace/${original.traceId}`,
      usage: { modelCalls: 3 },
    });

    const failed = await client.listRuns({ status: 'failed' });
    expect(failed.runs.map((r) => r.id)).toEqual([original.id]);
    const replays = await client.listRuns({ workflowName: 'fan-in-replay', status: ['completed'] });
    // Both completed runs are replays, newest first: of the original, then of that replay.
    const [newest, older] = replays.runs;
    expect(replays.runs).toHaveLength(2);
    expect(older?.replayOf).toBe(original.id);
    expect(newest?.replayOf).toBe(older?.id);
    expect((await client.listRuns({ workflowId: original.workflowId })).runs).toHaveLength(3);
    expect((await client.listRuns({ createdAfter: new Date(Date.now() + 60_000) })).runs).toEqual([]);
    expect((await client.listRuns({ createdBefore: original.createdAt })).runs).toEqual([]);

    await expect(client.listRuns({ cursor: 'not-a-cursor' })).rejects.toSatisfy((e) =>
      isApiError(e, 'invalid_request'),
    );
    const bad = await fetch(`${baseUrl}/v1/runs?status=done`, {
      headers: { authorization: `Bearer ${fleet.apiKey}` },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain(
      'unknown status "done"',
    );
    const empty = await fetch(`${baseUrl}/v1/runs?status=&workflowId=&limit=`, {
      headers: { authorization: `Bearer ${fleet.apiKey}` },
    });
    expect(empty.status).toBe(200);

    const other = new FlowtraceClient({ baseUrl, apiKey: await fleet.createKey('tenant-c') });
    expect((await other.listRuns()).runs).toEqual([]);
    await expect(other.getRunSteps(original.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('documents the new routes in the OpenAPI document', async () => {
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, object>;
    };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/runs',
        '/v1/runs/{id}/steps',
        '/v1/runs/{id}/events/stream',
        '/v1/runs/{id}/replay',
      ]),
    );
    expect(Object.keys(document.paths['/v1/runs'] ?? {}).sort()).toEqual(['get', 'post']);
  });
});
