import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import { METRICS } from '@flowtrace/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, orphans, stackClient } from '../support/stack-client.ts';

/**
 * Metrics, logs and sampling across real processes exporting over OTLP/HTTP to a receiver on loopback:
 * metric names, units and attributes from the catalogue; log records carrying the ids of the spans they
 * were written in; and head sampling at 0.5 that keeps or drops each run's trace whole.
 */
describe('metrics, logs and sampling across processes', () => {
  let db: TestDatabase;
  let stack: LocalStack;
  let client: ReturnType<typeof stackClient>;
  const runIds: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-observability-${process.pid}`,
      databaseUrl: db.url,
      workers: [{ kinds: ['llm'] }, { kinds: ['connector'] }],
      env: {
        LOG_LEVEL: 'debug',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.5',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_BLRP_SCHEDULE_DELAY: '300',
      },
    });
    client = stackClient(stack);
    const workflow = {
      name: 'observed',
      nodes: [
        {
          id: 'a',
          type: 'llm',
          config: { provider: 'simulated', model: 'sim-small', prompt: 'one {{input.i}}' },
        },
        {
          id: 'b',
          type: 'llm',
          dependsOn: ['a'],
          config: { provider: 'simulated', model: 'sim-small', prompt: 'two' },
        },
        {
          id: 'c',
          type: 'llm',
          dependsOn: ['a'],
          config: { provider: 'simulated', model: 'sim-large', prompt: 'three' },
        },
      ],
    };
    for (let i = 0; i < 24; i++)
      runIds.push((await client.api('POST', '/v1/runs', { workflow, input: { i } })).body.runId);
    for (const runId of runIds) expect((await client.waitForRun(runId)).status).toBe('completed');
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await db?.drop();
  });

  it('samples each run whole or not at all, and keeps trace ids on rows either way', async () => {
    const receiver = must(stack.receiver, 'the local OTLP receiver');
    const runs = await Promise.all(
      runIds.map(async (id) => (await client.api('GET', `/v1/runs/${id}`)).body),
    );
    const sampled = runs.filter((r) => r.sampled);
    expect(sampled.length).toBeGreaterThan(3);
    expect(sampled.length).toBeLessThan(runs.length - 3);
    // A sentinel run, sampled by its caller, started once every run above had completed. Each process
    // exports its spans in the order they end, so once the sentinel's spans are in from the API (its server
    // span) and the worker (its consumer spans and invoke_workflow), so is every span those processes
    // recorded for the runs above: the sampled runs' whole traces, and any span of an unsampled run.
    const sentinelTrace = randomBytes(16).toString('hex');
    const sentinel = await client.api(
      'POST',
      '/v1/runs',
      { workflowId: runs[0]?.workflowId, input: { i: 'sentinel' } },
      { traceparent: `00-${sentinelTrace}-${randomBytes(8).toString('hex')}-01` },
    );
    expect(sentinel.status).toBe(202);
    expect((await client.waitForRun(sentinel.body.runId)).status).toBe('completed');
    await receiver.waitFor(
      () => {
        const spans = receiver.spans().filter((s) => s.traceId === sentinelTrace);
        const consumers = spans
          .filter((s) => s.kind === 'CONSUMER')
          .map((s) => s.attributes['flowtrace.node.id']);
        return (
          spans.some((s) => s.name === 'POST /v1/runs') &&
          spans.some((s) => s.name.startsWith('invoke_workflow')) &&
          ['a', 'b', 'c'].every((node) => consumers.includes(node))
        );
      },
      { timeoutMs: 20_000, message: "the sentinel run's spans from the API and the worker" },
    );
    for (const run of runs) {
      const spans = receiver.spans().filter((s) => s.traceId === run.traceId);
      if (!run.sampled) {
        expect(spans, `unsampled run ${run.id}`).toEqual([]);
        continue;
      }
      const consumers = spans
        .filter((s) => s.kind === 'CONSUMER')
        .map((s) => s.attributes['flowtrace.node.id']);
      expect(consumers.sort()).toEqual(['a', 'b', 'c']);
      expect(spans.filter((s) => !s.parentSpanId).map((s) => s.name)).toEqual(['POST /v1/runs']);
      expect(orphans(spans)).toEqual([]);
    }
    const rows = await db.handle.sql`
      select r.id, r.trace_id, count(e.*)::int as events, bool_and(e.trace_id = r.trace_id) as same
      from runs r join event_logs e on e.run_id = r.id where r.id = any(${runIds}) group by r.id, r.trace_id`;
    expect(rows).toHaveLength(runIds.length);
    for (const row of rows) {
      expect(row.same).toBe(true);
      expect(row.trace_id).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it("exports the catalogue's metrics with their units and attributes", async () => {
    const receiver = must(stack.receiver, 'the local OTLP receiver');
    const expected = [
      METRICS.nodeDuration,
      METRICS.messagingProcessDuration,
      METRICS.messagingSent,
      METRICS.messagingConsumed,
      METRICS.queueWait,
      METRICS.queueDepth,
      METRICS.runsStarted,
      METRICS.runsFinished,
      METRICS.runDuration,
      METRICS.tokenUsage,
      METRICS.operationDuration,
      METRICS.llmCost,
      METRICS.httpServerDuration,
      METRICS.spansProcessed,
      METRICS.heapUsed,
    ];
    await receiver.waitFor(() => expected.every((m) => receiver.metrics().some((p) => p.name === m.name)), {
      timeoutMs: 30_000,
      message: `metrics ${expected
        .filter((m) => !receiver.metrics().some((p) => p.name === m.name))
        .map((m) => m.name)
        .join(', ')}`,
    });
    const unlisted = new Set<string>();
    for (const spec of expected) {
      const points = receiver.metrics().filter((p) => p.name === spec.name);
      expect(points[0]?.unit, spec.name).toBe(spec.unit);
      // Every attribute the points carry is one the catalogue lists for the metric.
      for (const point of points) {
        for (const key of Object.keys(point.attributes))
          if (!spec.attributes.includes(key)) unlisted.add(`${spec.name}: ${key}`);
      }
    }
    expect([...unlisted]).toEqual([]);
    const nodeDurations = receiver.metrics().filter((p) => p.name === METRICS.nodeDuration.name);
    expect(
      nodeDurations.some(
        (p) =>
          p.attributes['flowtrace.node.type'] === 'llm' &&
          p.attributes['flowtrace.node.outcome'] === 'completed',
      ),
    ).toBe(true);
    const tokens = receiver.metrics().filter((p) => p.name === METRICS.tokenUsage.name);
    expect(new Set(tokens.map((p) => p.attributes['gen_ai.token.type']))).toEqual(
      new Set(['input', 'output']),
    );
    const cost = receiver.metrics().filter((p) => p.name === METRICS.llmCost.name);
    expect(
      cost.some((p) => p.attributes['flowtrace.tenant.id'] === stack.tenantId && (p.value ?? 0) > 0),
    ).toBe(true);
    const depth = receiver.metrics().filter((p) => p.name === METRICS.queueDepth.name);
    expect(depth.some((p) => p.attributes['messaging.destination.name'] === 'nodes.llm')).toBe(true);
    // Metrics come from the API and both worker fleets.
    const services = new Set(receiver.metrics().map((p) => p.resource['service.name']));
    expect([...services].sort()).toEqual([
      'flowtrace-api',
      'flowtrace-worker-connector',
      'flowtrace-worker-llm',
    ]);
  });

  it('exports log records that carry the trace and span ids of the span they were written in', async () => {
    const receiver = must(stack.receiver, 'the local OTLP receiver');
    const written = () =>
      receiver
        .logs()
        .filter(
          (l) => l.traceId && l.body !== undefined && JSON.stringify(l.body).includes('node completed'),
        );
    await receiver.waitFor(() => written().length >= 10, {
      timeoutMs: 20_000,
      message: '"node completed" log records',
    });
    const spans = new Map(receiver.spans().map((s) => [s.spanId, s]));
    let matched = 0;
    for (const log of written()) {
      const span = spans.get(log.spanId ?? '');
      if (!span) continue; // the run was not sampled: the ids are there, the span is not exported
      matched++;
      expect(span.traceId).toBe(log.traceId);
      expect(span.name).toBe('process nodes.llm');
      expect(log.resource['service.name']).toBe('flowtrace-worker-llm');
    }
    expect(matched).toBeGreaterThan(3);
  });
});
