import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiKeyStore } from '@flowtrace/api';
import { FlowtraceClient } from '@flowtrace/client';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { NO_LIMITS, type TenantLimits, TenantLimitsStore } from '@flowtrace/engine';
import { countersAndRows } from '@flowtrace/engine/testing';
import { FakeOpenAiServer, type RecordedRequest } from '@flowtrace/executors/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/stack-client.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/**
 * Each call the fake provider answers uses 3 input and 30 output tokens, exactly what the engine estimates
 * for the prompt "Hi" with maxTokens 30, so reservations equal actual costs. Each test's tenant uses a model
 * of its own (to count its calls at the provider), all priced at USD 1000 per 1M tokens: $0.033 a call.
 */
const CALL_USD = 0.033;
const PRICING = JSON.stringify([
  { provider: 'openai', model: 'm-', match: 'prefix', input: 1000, output: 1000 },
]);

function answer(request: RecordedRequest, delayMs = 0) {
  const body = request.body as { model: string };
  return {
    delayMs,
    body: {
      id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 30, total_tokens: 33 },
    },
  };
}

const llm = (model: string, id: string, dependsOn: string[] = [], extra: Record<string, unknown> = {}) => ({
  id,
  type: 'llm',
  dependsOn,
  ...extra,
  config: { provider: 'openai', model, prompt: 'Hi', maxTokens: 30 },
});

/** Chat calls the provider answered for a model. */
const answeredFor = (provider: FakeOpenAiServer, model: string) =>
  provider.answered.filter((r) => (r.body as { model?: string } | undefined)?.model === model).length;

/**
 * Budgets and quotas per tenant through the real API and worker processes, on real Postgres and Redis, with
 * a loopback provider that counts the calls it answers.
 */
describe('tenant budgets and quotas', () => {
  let db: TestDatabase;
  let provider: FakeOpenAiServer;
  let stack: LocalStack;
  let limits: TenantLimitsStore;

  beforeAll(async () => {
    [db, provider] = await Promise.all([createTestDatabase(), new FakeOpenAiServer().start()]);
    provider.setHandler((request) => answer(request));
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-governance-${process.pid}`,
      databaseUrl: db.url,
      workers: [{ kinds: ['llm'] }, { kinds: ['llm'] }],
      env: {
        OPENAI_BASE_URL: provider.baseUrl,
        OPENAI_API_KEY: 'sk-governance',
        FLOWTRACE_PRICING: PRICING,
        // Limits set by a test apply to its next request.
        TENANT_LIMITS_CACHE_MS: '0',
      },
    });
    limits = new TenantLimitsStore({ sql: db.handle.sql }, { cacheTtlMs: 0 });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([db?.drop(), provider?.close()]);
  });

  /** A new tenant with its own key, and the operator limits given. */
  const tenant = async (name: string, operator: Partial<TenantLimits> = {}) => {
    const key = await new ApiKeyStore({ sql: db.handle.sql }).create(name);
    if (Object.keys(operator).length > 0)
      await limits.set(key.tenantId, 'operator', { ...NO_LIMITS, ...operator });
    const api = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(`${stack.apiUrl}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${key.key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: bodies are read field by field in assertions
      return { status: response.status, headers: response.headers, body: (await response.json()) as any };
    };
    const waitForRun = async (runId: string) => {
      let last: { status: number; body: { status?: string } } | undefined;
      await waitUntil(
        async () => {
          last = await api('GET', `/v1/runs/${runId}`);
          return ['completed', 'failed', 'cancelled'].includes(last.body.status ?? '');
        },
        `run ${runId} to finish`,
        60_000,
      );
      // biome-ignore lint/suspicious/noExplicitAny: see above
      return (last as { body: any }).body;
    };
    return { ...key, api, waitForRun };
  };

  it('leaves a tenant without limits as it was: every submission accepted, limits all null', async () => {
    const t = await tenant('unlimited');
    const view = await t.api('GET', '/v1/tenant/limits');
    expect(view.status).toBe(200);
    expect(view.body.limits).toEqual(NO_LIMITS);
    const workflow = { name: 'one', nodes: [llm('m-unlimited', 'a')] };
    const submitted = await Promise.all(
      Array.from({ length: 30 }, () => t.api('POST', '/v1/runs', { workflow })),
    );
    expect(submitted.map((s) => s.status)).toEqual(Array(30).fill(202));
  });

  it('accepts 20 of 200 simultaneous submissions at 20 runs per minute and answers the rest 429 with Retry-After', async () => {
    const t = await tenant('rate-limited', { runsPerMinute: 20 });
    const workflow = { name: 'rated', nodes: [llm('m-rated', 'a')] };
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => t.api('POST', '/v1/runs', { workflow })),
    );
    const accepted = responses.filter((r) => r.status === 202);
    const limited = responses.filter((r) => r.status === 429);
    expect(accepted).toHaveLength(20);
    expect(limited).toHaveLength(180);
    for (const r of limited) {
      expect(r.body.error.code).toBe('rate_limited');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(limited[0]?.body.error.details).toMatchObject({ limit: 'runsPerMinute', limitValue: 20 });
    // The accepted runs run; the refused ones were never stored.
    const [{ n }] = (await db.handle
      .sql`select count(*)::int as n from runs where tenant_id = ${t.tenantId}`) as [{ n: number }];
    expect(n).toBe(20);
  });

  it('stops a run at the model call that would exceed the daily budget, then refuses new runs at admission', async () => {
    // $0.099 holds three calls; the fourth would make $0.132.
    const t = await tenant('budgeted', { dailySpendUsd: 3 * CALL_USD });
    const m = 'm-budgeted';
    const workflow = {
      name: 'chain',
      nodes: [
        llm(m, 'n1'),
        llm(m, 'n2', ['n1']),
        llm(m, 'n3', ['n2']),
        llm(m, 'n4', ['n3']),
        llm(m, 'n5', ['n4']),
      ],
    };
    const submitted = await t.api('POST', '/v1/runs', { workflow });
    expect(submitted.status).toBe(202);
    const runResult = await t.waitForRun(submitted.body.runId);
    expect(runResult.status).toBe('failed');
    expect(runResult.error).toMatchObject({ code: 'budget_exceeded', nodeId: 'n4' });
    const n4 = runResult.nodes.find((n: { nodeId: string }) => n.nodeId === 'n4');
    expect(n4.error.details).toMatchObject({
      scope: 'tenant',
      limit: 'dailySpendUsd',
      limitValue: 3 * CALL_USD,
      used: 3 * CALL_USD,
      requested: CALL_USD,
    });
    expect(n4.attempts).toBe(1);
    // No call was made past the budget: the provider answered three.
    expect(answeredFor(provider, m)).toBe(3);
    const rows = await db.handle.sql`
      select node_id, status from model_cost_logs where run_id = ${submitted.body.runId} order by node_id`;
    expect(rows.map((r) => `${r.node_id}:${r.status}`)).toEqual(['n1:settled', 'n2:settled', 'n3:settled']);
    const totals = await countersAndRows(db.handle.sql, t.tenantId);
    expect(totals.counterSpend).toBeCloseTo(3 * CALL_USD, 10);
    expect(totals.counterSpend).toBeCloseTo(totals.rowsSpend, 10);

    // The budget is used up: admission refuses with the numbers and when it resets.
    const refused = await t.api('POST', '/v1/runs', { workflow });
    expect(refused.status).toBe(402);
    expect(refused.body.error).toMatchObject({
      code: 'budget_exceeded',
      details: { limit: 'dailySpendUsd', limitValue: 3 * CALL_USD, used: 3 * CALL_USD },
    });
    expect(refused.body.error.message).toContain('dailySpendUsd');
    expect(Date.parse(refused.body.error.details.resetsAt)).toBeGreaterThan(Date.now());
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(answeredFor(provider, m)).toBe(3);

    // The usage endpoint reports the same spend by day, workflow, provider and model.
    const usage = await t.api('GET', '/v1/usage');
    expect(usage.status).toBe(200);
    expect(usage.body.rows).toEqual([
      expect.objectContaining({
        day: new Date().toISOString().slice(0, 10),
        workflowName: 'chain',
        provider: 'openai',
        model: m,
        calls: 3,
        inputTokens: 9,
        outputTokens: 90,
      }),
    ]);
    expect(usage.body.totals.costUsd).toBeCloseTo(3 * CALL_USD, 10);
  });

  it('lets parallel nodes reserve before they call, so they cannot overshoot together', async () => {
    // Eight nodes call at once on two workers; $0.1 holds three calls' reservations.
    const t = await tenant('parallel', { dailySpendUsd: 0.1 });
    const branches = Array.from({ length: 8 }, (_, i) =>
      llm('m-parallel', `b${i}`, [], { continueOnFailure: true }),
    );
    const submitted = await t.api('POST', '/v1/runs', { workflow: { name: 'fan', nodes: branches } });
    const runResult = await t.waitForRun(submitted.body.runId);
    expect(runResult.status).toBe('completed');
    const failed = runResult.nodes.filter((n: { status: string }) => n.status === 'failed');
    expect(failed).toHaveLength(5);
    for (const node of failed) expect(node.error.code).toBe('budget_exceeded');
    expect(answeredFor(provider, 'm-parallel')).toBe(3);
    const totals = await countersAndRows(db.handle.sql, t.tenantId);
    expect(totals.rowsSpend).toBeCloseTo(3 * CALL_USD, 10);
    expect(totals.rowsSpend).toBeLessThanOrEqual(0.1);
  });

  it('refuses a run past maxConcurrentRuns with 429 concurrency_limited, and accepts it once one finishes', async () => {
    const t = await tenant('concurrent', { maxConcurrentRuns: 2 });
    let hold = true;
    provider.setHandler((request) => answer(request, hold ? 60_000 : 0));
    const workflow = { name: 'slow', nodes: [llm('m-concurrent', 'a')] };
    const first = await t.api('POST', '/v1/runs', { workflow });
    const second = await t.api('POST', '/v1/runs', { workflow });
    expect([first.status, second.status]).toEqual([202, 202]);
    const third = await t.api('POST', '/v1/runs', { workflow });
    expect(third.status).toBe(429);
    expect(third.body.error).toMatchObject({
      code: 'concurrency_limited',
      details: { limit: 'maxConcurrentRuns', limitValue: 2 },
    });
    expect(third.headers.get('retry-after')).toBe('1');
    const cancelled = await t.api('POST', `/v1/runs/${first.body.runId}/cancel`);
    expect(cancelled.status).toBe(202);
    hold = false;
    provider.setHandler((request) => answer(request));
    const fourth = await t.api('POST', '/v1/runs', { workflow });
    expect(fourth.status).toBe(202);
    await t.api('POST', `/v1/runs/${second.body.runId}/cancel`);
  });

  it("lets a tenant set its own, stricter limits, but not lift the operator's", async () => {
    const t = await tenant('self-limited', { dailySpendUsd: 10, runsPerMinute: 100 });
    const tighter = await t.api('PUT', '/v1/tenant/limits', { dailySpendUsd: 2, maxInflightNodes: 5 });
    expect(tighter.status).toBe(200);
    expect(tighter.body.limits).toMatchObject({ dailySpendUsd: 2, runsPerMinute: 100, maxInflightNodes: 5 });
    expect(tighter.body.operator).toMatchObject({ dailySpendUsd: 10 });
    expect(tighter.body.tenant).toMatchObject({ dailySpendUsd: 2, runsPerMinute: null });
    expect(tighter.body.usage.day).toMatchObject({ spendUsd: 0, tokens: 0 });

    const lifted = await t.api('PUT', '/v1/tenant/limits', { dailySpendUsd: 50 });
    expect(lifted.status).toBe(400);
    expect(lifted.body.error.code).toBe('invalid_request');
    expect(lifted.body.error.message).toContain("dailySpendUsd 50 is above the operator's limit of 10");
    for (const bad of [{ dailySpendUsd: -1 }, { runsPerMinute: 1.5 }, { unknownLimit: 1 }, []]) {
      const response = await t.api('PUT', '/v1/tenant/limits', bad);
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
    }
    // Nothing half-written: the earlier limits stand.
    expect((await t.api('GET', '/v1/tenant/limits')).body.limits.dailySpendUsd).toBe(2);

    // The typed client covers the routes.
    const client = new FlowtraceClient({ baseUrl: stack.apiUrl, apiKey: t.key });
    const relaxed = await client.setTenantLimits({ dailySpendUsd: 5 });
    expect(relaxed.limits).toMatchObject({ dailySpendUsd: 5, maxInflightNodes: null });
    expect((await client.getTenantLimits()).tenant.dailySpendUsd).toBe(5);
    await expect(client.setTenantLimits({ runsPerMinute: 1000 })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
    const usage = await client.getUsage({ groupBy: ['day'] });
    expect(usage).toMatchObject({ groupBy: ['day'], rows: [], totals: { calls: 0 } });
  });

  it('sets operator limits with npm run tenant, and answers bad usage queries with 400', async () => {
    const t = await tenant('cli-managed');
    const env = { ...process.env, DATABASE_URL: db.url };
    const cli = (...args: string[]) =>
      run(process.execPath, [path.join(ROOT, 'apps/cli/src/tenant.ts'), ...args], { env, cwd: ROOT });
    await cli('limits', 'cli-managed', '--daily-tokens', '1000', '--max-concurrent-runs', '3');
    const shown = JSON.parse((await cli('show', 'cli-managed', '--json')).stdout);
    expect(shown.effective).toMatchObject({ dailyTokens: 1000, maxConcurrentRuns: 3 });
    expect((await t.api('GET', '/v1/tenant/limits')).body.operator).toMatchObject({ dailyTokens: 1000 });
    await expect(cli('limits', 'cli-managed', '--daily-tokens', 'lots')).rejects.toMatchObject({
      stderr: expect.stringContaining('--daily-tokens must be a non-negative number'),
    });
    for (const query of [
      'from=2026-13-01',
      'from=2026-01-02&to=2026-01-01',
      'groupBy=tenant',
      'from=2020-01-01&to=2026-01-01',
    ]) {
      const response = await t.api('GET', `/v1/usage?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
    }
  });
});
