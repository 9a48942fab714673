import { type InMemoryTracing, startInMemoryTracing } from '@flowtrace/telemetry/testing';
import { type NodeExecutor, type NodeType, PermanentNodeError } from '@flowtrace/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { invokeCoveringRun } from '../support/invoke-coverage.ts';

/**
 * A node that finishes after another node failed its run, without having heard the run's stop (the stop
 * message and the heartbeat both missed it): its worker records the outcome against an ended run, and
 * offers to record the run's `invoke_workflow` as a stopped attempt would, rather than leaving it to the
 * fallback after RUN_SPAN_GRACE_MS (a minute here).
 */
describe("a node that finishes without noticing its run's stop", () => {
  let tracing: InMemoryTracing;
  let fleet: InProcessFleet;
  let release: (() => void) | undefined;
  const auth = () => ({ authorization: `Bearer ${fleet.apiKey}` });

  const executor = (type: NodeType): NodeExecutor => ({
    type,
    async execute(ctx) {
      if (ctx.nodeId === 'fail') throw new PermanentNodeError('provider_rejected', 'told to fail');
      // Ignores its signal: it finishes when the test says so.
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { done: true };
    },
  });

  beforeAll(async () => {
    tracing = startInMemoryTracing();
    fleet = await startInProcessFleet({
      executors: (['llm', 'connector'] as const).map(executor),
      deferredSpans: tracing.deferredSpans,
      stopChannel: false,
      heartbeatMs: 60_000,
      runSpanGraceMs: 60_000,
    });
  });
  afterAll(async () => {
    release?.();
    await fleet?.close();
    await tracing?.shutdown();
  });

  it('records invoke_workflow once such a node completes, not after the grace period', async () => {
    const response = await fleet.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: auth(),
      payload: {
        workflow: {
          name: 'unnoticed-stop',
          nodes: [
            { id: 'fail', type: 'llm', config: { provider: 'simulated', model: 'sim', prompt: 'x' } },
            { id: 'slow', type: 'connector', config: { url: 'https://example.test/slow' } },
          ],
        },
        input: {},
      },
    });
    expect(response.statusCode).toBe(202);
    const { runId, traceId } = response.json();
    const failed = await fleet.waitForRun(runId);
    expect(failed.status).toBe('failed');
    // The slow node is still running, and the run's span waits for it.
    expect(
      (failed.nodes as { nodeId: string; status: string }[]).find((n) => n.nodeId === 'slow')?.status,
    ).toBe('running');
    expect(tracing.spans().filter((s) => s.name.startsWith('invoke_workflow'))).toEqual([]);

    release?.();
    // Well within the grace period: the slow node's worker recorded it once its span had ended.
    const invoke = await invokeCoveringRun(() => tracing.spans(), traceId, 10_000);
    expect(invoke.name).toBe('invoke_workflow unnoticed-stop');
    const slow = tracing
      .spans()
      .find((s) => s.name === 'process nodes.connector' && s.spanContext().traceId === traceId);
    expect(slow?.attributes['flowtrace.node.status']).toBe('completed');
    const run = await fleet.waitForRun(runId);
    expect(run.status).toBe('failed');
  });
});
