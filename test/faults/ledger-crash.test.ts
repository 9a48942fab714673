import { ApiKeyStore } from '@flowtrace/api';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { NO_LIMITS, TenantLimitsStore } from '@flowtrace/engine';
import { countersAndRows } from '@flowtrace/engine/testing';
import {
  FakeOpenAiServer,
  type RecordedRequest,
  startTargetServer,
  type TargetServer,
} from '@flowtrace/executors/testing';
import { type LocalStack, type ManagedProcess, startLocalStack } from '@flowtrace/local-stack';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCallingScript } from '../support/openai-tool-script.ts';
import { FAST_RECOVERY_ENV, must, stackClient, waitUntil } from '../support/stack-client.ts';

/**
 * The spend ledger across worker crashes: agents whose workers are killed with SIGKILL at several moments
 * of a node (during a tool call between two model calls, during a model call after an answered one, twice
 * in one node, with and without a budget that reserves first). The loopback provider counts the calls it
 * answered; the ledger must hold exactly those, each once.
 */
describe('ledger across SIGKILLed workers', () => {
  let db: TestDatabase;
  let provider: FakeOpenAiServer;
  let target: TargetServer;
  let stack: LocalStack;
  let redis: Redis;
  const script = toolCallingScript(() => ({ orderId: 'o-1' }));
  /** Model calls per scenario so far, and which of them the provider holds (never answering). */
  const calls = new Map<string, number>();
  const held = new Map<string, Set<number>>();

  const scenarioOf = (request: RecordedRequest) =>
    /scenario (\w+)/.exec(JSON.stringify(request.body))?.[1] ?? 'none';

  beforeAll(async () => {
    [db, provider, target] = await Promise.all([
      createTestDatabase(),
      new FakeOpenAiServer().start(),
      startTargetServer(),
    ]);
    provider.setHandler((request) => {
      const scenario = scenarioOf(request);
      const n = (calls.get(scenario) ?? 0) + 1;
      calls.set(scenario, n);
      const answer = script(request);
      return answer && held.get(scenario)?.has(n) ? { ...answer, delayMs: 120_000 } : answer;
    });
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-ledger-crash-${process.pid}`,
      databaseUrl: db.url,
      workers: [{ kinds: ['agent'] }, { kinds: ['agent'] }, { kinds: ['agent'] }, { kinds: ['agent'] }],
      env: {
        ...FAST_RECOVERY_ENV,
        OPENAI_BASE_URL: provider.baseUrl,
        OPENAI_API_KEY: 'sk-ledger',
        FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
        TENANT_LIMITS_CACHE_MS: '0',
      },
    });
    redis = new Redis(stack.redisUrl);
  }, 120_000);

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await Promise.all([db?.drop(), provider?.close(), target?.close()]);
  });

  /** The worker process holding a node's job (BullMQ records the worker name, `host:pid`). */
  const workerRunning = async (runId: string): Promise<ManagedProcess> => {
    const processedBy = await redis.hget(`${stack.queuePrefix}:nodes.agent:${runId}.agent`, 'pb');
    const pid = Number(processedBy?.split(':').at(-1));
    return must(
      stack.workers.find((w) => w.pid === pid),
      `the worker with pid ${pid} (${processedBy})`,
    );
  };

  const kill = async (runId: string) => {
    const victim = await workerRunning(runId);
    victim.signal('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    stack.workers.splice(stack.workers.indexOf(victim), 1);
    // Keep the fleet's size: the next crash needs a worker to take over.
    stack.workers.push(await stack.startWorker({ kinds: ['agent'] }));
  };

  const workflow = (scenario: string) => ({
    name: `ledger-${scenario}`,
    nodes: [
      {
        id: 'agent',
        type: 'agent',
        retry: { attempts: 4 },
        config: {
          name: 'orders',
          provider: 'openai',
          model: 'gpt-4o-mini',
          prompt: `scenario ${scenario}: where is order o-1?`,
          tools: [
            {
              type: 'http',
              name: 'order_status',
              description: 'Status of an order',
              url: `${target.url}/${scenario}/orders/{{args.orderId}}`,
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

  /** Tool requests of a scenario's target path: the first `holdFirst` are held, the rest answered. */
  const routeTool = (scenario: string, holdFirst: number) => {
    let seen = 0;
    target.on('GET', `/${scenario}/orders/o-1`, () => {
      seen += 1;
      return seen <= holdFirst
        ? { delayMs: 120_000, body: { status: 'late' } }
        : { body: { status: 'late' } };
    });
  };

  const answeredCalls = (scenario: string) =>
    provider.answered.filter((r) => r.path === '/v1/chat/completions' && scenarioOf(r) === scenario).length;

  const toolRequests = (scenario: string) =>
    target.requests.filter((r) => r.path.startsWith(`/${scenario}/`)).length;

  const ledgerOf = async (runId: string) =>
    db.handle.sql<
      {
        attempt: number;
        call_index: number;
        status: string;
        attempt_lost: boolean;
        response_id: string | null;
      }[]
    >`
      select attempt, call_index, status, attempt_lost, response_id from model_cost_logs
      where run_id = ${runId} order by attempt, call_index`;

  /** Ledger calls equal the provider's answered calls, each recorded once. */
  const expectExactLedger = async (runId: string, scenario: string) => {
    const rows = await ledgerOf(runId);
    const settled = rows.filter((r) => r.status === 'settled');
    expect(settled).toHaveLength(answeredCalls(scenario));
    expect(new Set(settled.map((r) => r.response_id)).size).toBe(settled.length);
    return rows;
  };

  it('keeps the answered call of an attempt killed during its tool call, between two model calls', async () => {
    const client = stackClient(stack);
    routeTool('between', 1);
    const { body } = await client.api('POST', '/v1/runs', { workflow: workflow('between') });
    const runId = body.runId as string;
    await waitUntil(() => toolRequests('between') === 1, 'the tool call of the first attempt');
    // The first model call was answered and is already in the ledger, before the node has an outcome.
    await waitUntil(async () => (await ledgerOf(runId)).length === 1, 'the first call in the ledger');
    await kill(runId);

    const run = await client.waitForRun(runId, 60_000);
    expect(run.status).toBe('completed');
    expect(run.nodes[0].attempts).toBe(2);
    const rows = await expectExactLedger(runId, 'between');
    expect(rows.map((r) => [r.attempt, r.call_index, r.status, r.attempt_lost])).toEqual([
      [1, 0, 'settled', true],
      [2, 0, 'settled', false],
      [2, 1, 'settled', false],
    ]);
  });

  it('keeps the answered calls when attempts are killed during a model call, twice in one node', async () => {
    const client = stackClient(stack);
    // Attempt 1 is killed during its tool call; attempt 2 during its second model call (call 3 of the
    // scenario), which the provider never answers.
    routeTool('twice', 1);
    held.set('twice', new Set([3]));
    const { body } = await client.api('POST', '/v1/runs', { workflow: workflow('twice') });
    const runId = body.runId as string;
    await waitUntil(() => toolRequests('twice') === 1, 'the tool call of attempt 1');
    await waitUntil(async () => (await ledgerOf(runId)).length === 1, 'attempt 1 call in the ledger');
    await kill(runId);
    await waitUntil(() => (calls.get('twice') ?? 0) === 3, 'the held model call of attempt 2', 30_000);
    await waitUntil(async () => (await ledgerOf(runId)).length === 2, 'attempt 2 call in the ledger');
    await kill(runId);

    const run = await client.waitForRun(runId, 60_000);
    expect(run.status).toBe('completed');
    expect(run.nodes[0].attempts).toBe(3);
    const rows = await expectExactLedger(runId, 'twice');
    expect(answeredCalls('twice')).toBe(4);
    expect(rows.map((r) => [r.attempt, r.call_index, r.attempt_lost])).toEqual([
      [1, 0, true],
      [2, 0, true],
      [3, 0, false],
      [3, 1, false],
    ]);
  });

  it('with a budget, settles answered calls and keeps the unanswered reservation of a killed attempt as abandoned', async () => {
    const key = await new ApiKeyStore({ sql: db.handle.sql }).create('budgeted');
    await new TenantLimitsStore({ sql: db.handle.sql }).set(key.tenantId, 'operator', {
      ...NO_LIMITS,
      dailySpendUsd: 100,
    });
    routeTool('budget', 0);
    held.set('budget', new Set([2]));
    const response = await fetch(`${stack.apiUrl}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: workflow('budget') }),
    });
    const runId = ((await response.json()) as { runId: string }).runId;
    await waitUntil(() => (calls.get('budget') ?? 0) === 2, 'the held second model call', 30_000);
    await waitUntil(
      async () => (await ledgerOf(runId)).map((r) => r.status).join() === 'settled,reserved',
      'the answered call settled and the held one reserved',
    );
    await kill(runId);

    await waitUntil(
      async () =>
        (await db.handle.sql`select status from runs where id = ${runId}`)[0]?.status === 'completed',
      'the run to complete',
      60_000,
    );
    const rows = await expectExactLedger(runId, 'budget');
    expect(rows.map((r) => [r.attempt, r.call_index, r.status, r.attempt_lost])).toEqual([
      [1, 0, 'settled', true],
      [1, 1, 'abandoned', true],
      [2, 0, 'settled', false],
      [2, 1, 'settled', false],
    ]);
    // The tenant's counter holds every row: the answered calls and the abandoned reservation's estimate.
    const totals = await countersAndRows(db.handle.sql, key.tenantId);
    expect(totals.counterSpend).toBeCloseTo(totals.rowsSpend, 10);
    expect(totals.counterTokens).toBe(totals.rowsTokens);
  });

  it('marks the reservation a killed worker left in a run that ended meanwhile abandoned (the reconciler)', async () => {
    const key = await new ApiKeyStore({ sql: db.handle.sql }).create('budgeted-cancelled');
    await new TenantLimitsStore({ sql: db.handle.sql }).set(key.tenantId, 'operator', {
      ...NO_LIMITS,
      dailySpendUsd: 100,
    });
    held.set('ended', new Set([1]));
    const post = (path: string, body?: unknown) =>
      fetch(`${stack.apiUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
    const runId = (
      (await (await post('/v1/runs', { workflow: workflow('ended') })).json()) as { runId: string }
    ).runId;
    await waitUntil(() => (calls.get('ended') ?? 0) === 1, 'the held model call', 30_000);
    await waitUntil(
      async () => (await ledgerOf(runId)).map((r) => r.status).join() === 'reserved',
      'the held call reserved',
    );
    // Killed mid-call, and the run cancelled before the job is delivered again: no attempt of the node
    // will run to mark the call; the reconciler does once the run has been over for a heartbeat's staleness.
    await kill(runId);
    expect((await post(`/v1/runs/${runId}/cancel`)).status).toBe(202);
    await waitUntil(
      async () => (await ledgerOf(runId)).map((r) => r.status).join() === 'abandoned',
      'the reservation marked abandoned',
      30_000,
    );
    expect((await ledgerOf(runId)).map((r) => [r.attempt, r.call_index, r.status])).toEqual([
      [1, 0, 'abandoned'],
    ]);
    expect(answeredCalls('ended')).toBe(0);
    // Its estimate stays counted: the provider may have billed a call cut off mid-way.
    const totals = await countersAndRows(db.handle.sql, key.tenantId);
    expect(totals.rowsSpend).toBeGreaterThan(0);
    expect(totals.counterSpend).toBeCloseTo(totals.rowsSpend, 10);
    expect(totals.counterTokens).toBe(totals.rowsTokens);
  });
});
