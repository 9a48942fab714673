import { createRedis, NodeDispatcher, NodeQueues, RunSubmitter } from '@flowtrace/engine';
import { createExecutorSuite, loadExecutorsConfig } from '@flowtrace/executors';
import { FakeOpenAiServer } from '@flowtrace/executors/testing';
import { createLogger } from '@flowtrace/telemetry';
import { type InMemoryTracing, startInMemoryTracing } from '@flowtrace/telemetry/testing';
import type { NodeExecutor } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { invokeCoveringRun } from '../support/invoke-coverage.ts';
import { waitUntil } from '../support/stack-client.ts';

/** A connector-typed executor that waits (ignoring nothing: it honours its signal) for `input.waitMs`. */
const started: string[] = [];
const slowExecutor: NodeExecutor<'connector'> = {
  type: 'connector',
  async execute(ctx) {
    started.push(`${ctx.runId}/${ctx.nodeId}/${ctx.attempt}`);
    const waitMs = Number((ctx.input as { waitMs?: number }).waitMs ?? 0);
    const ignoreSignal = (ctx.input as { ignoreSignal?: boolean }).ignoreSignal === true;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, waitMs);
      if (!ignoreSignal) {
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      }
    });
    return { waited: waitMs };
  },
};

describe('retries, timeouts, cancellation and idempotency (in-process fleet, real Postgres and Redis)', () => {
  let tracing: InMemoryTracing;
  let provider: FakeOpenAiServer;
  let fleet: InProcessFleet;
  const auth = () => ({ authorization: `Bearer ${fleet.apiKey}` });
  const submit = (payload: unknown) =>
    fleet.app.inject({ method: 'POST', url: '/v1/runs', headers: auth(), payload: payload as object });
  const events = async (runId: string) =>
    (await fleet.app.inject({ method: 'GET', url: `/v1/runs/${runId}/events`, headers: auth() })).json()
      .events as {
      type: string;
      nodeId: string | null;
      attempt: number | null;
      data: Record<string, unknown> | null;
    }[];
  const llmWorkflow = (name: string, retry?: unknown) => ({
    name,
    nodes: [
      {
        id: 'ask',
        type: 'llm',
        ...(retry ? { retry } : {}),
        config: { provider: 'openai', model: 'gpt-4o-mini', prompt: 'Say hi' },
      },
    ],
  });
  const slowWorkflow = (extra: Record<string, unknown> = {}) => ({
    name: 'slow',
    ...extra,
    nodes: [
      { id: 'wait', type: 'connector', retry: { attempts: 1 }, config: { url: 'http://unused.test/' } },
      { id: 'after', type: 'connector', dependsOn: ['wait'], config: { url: 'http://unused.test/' } },
    ],
  });

  beforeAll(async () => {
    tracing = startInMemoryTracing();
    provider = await new FakeOpenAiServer().start();
    const suite = createExecutorSuite(
      loadExecutorsConfig({ OPENAI_BASE_URL: provider.baseUrl, OPENAI_API_KEY: 'sk-test' }),
      { tracer: trace.getTracer('test'), logger: createLogger({ name: 'test', level: 'silent' }) },
    );
    const llm = suite.executors.find((e) => e.type === 'llm') as NodeExecutor;
    fleet = await startInProcessFleet({
      executors: [llm, slowExecutor as unknown as NodeExecutor],
      deferredSpans: tracing.deferredSpans,
      reconciler: true,
    });
  });
  afterAll(async () => {
    await fleet?.close();
    await provider?.close();
    await tracing?.shutdown();
  });

  it('retries a provider 500 twice, then succeeds; one cost row, for the call that answered', async () => {
    provider.reset();
    provider.failNext(500).failNext(503, { retryAfterMs: 50 });
    const response = await submit({
      workflow: llmWorkflow('retry-500', { attempts: 3, backoff: { type: 'fixed', delayMs: 20, jitter: 0 } }),
    });
    const run = await fleet.waitForRun(response.json().runId);
    expect(run.status).toBe('completed');
    expect(provider.chatRequests).toHaveLength(3);
    const node = (run.nodes as { attempts: number; error: unknown }[])[0];
    expect(node?.attempts).toBe(3);
    const retried = (await events(response.json().runId)).filter((e) => e.type === 'node.retried');
    expect(retried.map((e) => e.attempt)).toEqual([1, 2]);
    expect(retried[0]?.data).toMatchObject({ error: { code: 'provider_error' } });
    const costs = await fleet.db.handle
      .sql`select attempt from model_cost_logs where run_id = ${response.json().runId}`;
    expect(costs.map((c) => c.attempt)).toEqual([3]);
    // Each attempt is its own consumer span with its attempt number; the failed ones are errors.
    const attempts = tracing
      .spans()
      .filter(
        (s) => s.name === 'process nodes.llm' && s.attributes['flowtrace.run.id'] === response.json().runId,
      )
      .map((s) => [
        s.attributes['flowtrace.node.attempt'],
        s.status.code,
        s.events.some((e) => e.name === 'flowtrace.node.retried'),
      ])
      .sort();
    expect(attempts).toEqual([
      [1, 2, true],
      [2, 2, true],
      [3, 0, false],
    ]);
  });

  it('does not retry a provider 400: the run fails with the provider error', async () => {
    provider.reset();
    provider.failNext(400, { message: 'model does not exist' });
    const response = await submit({ workflow: llmWorkflow('no-retry-400', { attempts: 3 }) });
    const run = await fleet.waitForRun(response.json().runId);
    expect(run.status).toBe('failed');
    expect(provider.chatRequests).toHaveLength(1);
    expect(run.error).toMatchObject({ code: 'provider_rejected', nodeId: 'ask' });
    expect((await events(response.json().runId)).map((e) => e.type)).toContain('run.failed');
  });

  it('fails an attempt that outlives its node timeout, even when the executor ignores its signal', async () => {
    const response = await submit({
      workflow: {
        name: 'timeout',
        nodes: [
          {
            id: 'wait',
            type: 'connector',
            timeoutMs: 200,
            retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10, jitter: 0 } },
            config: { url: 'http://unused.test/' },
          },
        ],
      },
      input: { waitMs: 5_000, ignoreSignal: true },
    });
    const run = await fleet.waitForRun(response.json().runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'node_timeout', nodeId: 'wait' });
    expect((run.nodes as { attempts: number }[])[0]?.attempts).toBe(2);
  });

  it('cancels a running run: the running node is aborted, its successor never starts', async () => {
    const response = await submit({ workflow: slowWorkflow(), input: { waitMs: 30_000 } });
    const runId = response.json().runId as string;
    await waitUntil(() => started.includes(`${runId}/wait/1`), 'the slow node to start');
    const cancelled = await fleet.app.inject({
      method: 'POST',
      url: `/v1/runs/${runId}/cancel`,
      headers: auth(),
    });
    expect(cancelled.statusCode).toBe(202);
    expect(cancelled.json()).toEqual({ runId, status: 'cancelled' });
    const run = await fleet.waitForRun(runId);
    expect(run.status).toBe('cancelled');
    await waitUntil(async () => {
      const nodes = (
        await fleet.app.inject({ method: 'GET', url: `/v1/runs/${runId}`, headers: auth() })
      ).json().nodes;
      return nodes.find((n: { nodeId: string }) => n.nodeId === 'wait')?.status === 'cancelled';
    }, 'the running node to end cancelled');
    expect(started.filter((s) => s.startsWith(`${runId}/after`))).toEqual([]);
    const again = await fleet.app.inject({
      method: 'POST',
      url: `/v1/runs/${runId}/cancel`,
      headers: auth(),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('run_not_cancellable');
    // The aborted node's span ends after the cancel: invoke_workflow, recorded once it has, covers it.
    const invoke = await invokeCoveringRun(() => tracing.spans(), run.traceId as string);
    expect(invoke.attributes['flowtrace.run.status']).toBe('cancelled');
    const types = (await events(runId)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['run.cancelled', 'node.cancelled']));
  });

  it('stops a running node at its next heartbeat when its run ended and the stop message was missed', async () => {
    const response = await submit({ workflow: slowWorkflow(), input: { waitMs: 30_000 } });
    const runId = response.json().runId as string;
    await waitUntil(() => started.includes(`${runId}/wait/1`), 'the slow node to start');
    // Ended in Postgres only, as if the pub/sub message had been lost.
    await fleet.db.handle.sql`
      update runs set status = 'cancelled', finished_at = now() where id = ${runId}`;
    const nodeOf = async (nodeId: string) =>
      (
        (await fleet.app.inject({ method: 'GET', url: `/v1/runs/${runId}`, headers: auth() })).json()
          .nodes as { nodeId: string; status: string; error: { message: string } | null }[]
      ).find((n) => n.nodeId === nodeId);
    await waitUntil(
      async () => (await nodeOf('wait'))?.status === 'cancelled',
      'the heartbeat to stop the node',
    );
    expect((await nodeOf('wait'))?.error?.message).toContain('its run is no longer running');
    expect(started.filter((s) => s.startsWith(`${runId}/after`))).toEqual([]);
  });

  it('fails a run that passes its deadline, aborting what is still running', async () => {
    const response = await submit({ workflow: slowWorkflow({ timeoutMs: 400 }), input: { waitMs: 30_000 } });
    const run = await fleet.waitForRun(response.json().runId, fleet.apiKey, 10_000);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'run_timeout' });
    const invoke = await invokeCoveringRun(() => tracing.spans(), run.traceId as string);
    expect(invoke.attributes['flowtrace.run.status']).toBe('failed');
  });

  it('re-drives a queued node whose enqueue was lost', async () => {
    // A submitter whose jobs go to queues no worker reads: the run is committed as queued in Postgres, but
    // from the fleet's point of view the enqueue never happened (a crash between commit and enqueue).
    const elsewhere = new NodeQueues({
      connection: createRedis({ url: 'redis://127.0.0.1:6379', role: 'producer' }),
      prefix: `${fleet.prefix}-void`,
    });
    const submitter = new RunSubmitter({
      repository: fleet.repository,
      dispatcher: new NodeDispatcher({ queues: elsewhere, tracer: trace.getTracer('test') }),
      deferredSpans: tracing.deferredSpans,
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    const lost = await submitter.submit({
      tenantId: fleet.tenantId,
      apiKeyId: null,
      workflow: { ...slowWorkflow(), name: 'lost-enqueue' },
      input: { waitMs: 0 },
    });
    const recovered = await fleet.waitForRun(lost.runId, fleet.apiKey, 15_000);
    expect(recovered.status).toBe('completed');
    const redrive = tracing
      .spans()
      .find(
        (s) =>
          s.name === 'send nodes.connector' && s.attributes['flowtrace.redrive.reason'] === 'job_missing',
      );
    expect(redrive?.spanContext().traceId).toBe(lost.traceId);
    await elsewhere.close();
  });

  it('makes one run of 100 concurrent submissions with one idempotency key, and refuses the key for another request', async () => {
    const payload = { workflow: llmWorkflow('idempotent'), input: { n: 1 }, idempotencyKey: 'order-42' };
    const responses = await Promise.all(Array.from({ length: 100 }, () => submit(payload)));
    expect(responses.every((r) => r.statusCode === 202)).toBe(true);
    const ids = new Set(responses.map((r) => r.json().runId));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(99);
    const [row] = await fleet.db.handle
      .sql`select count(*)::int as n from runs where idempotency_key = 'order-42'`;
    expect(row?.n).toBe(1);
    const conflict = await submit({ ...payload, input: { n: 2 } });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe('idempotency_conflict');
    // After the run's jobs are long gone from Redis, the key still maps to the run (it lives in Postgres).
    const [runId] = [...ids];
    await fleet.waitForRun(runId);
    const client = new (await import('ioredis')).Redis('redis://127.0.0.1:6379');
    for (const key of await client.keys(`${fleet.prefix}:*`)) await client.del(key);
    client.disconnect();
    const later = await submit(payload);
    expect(later.json().runId).toBe(runId);
  });
});
