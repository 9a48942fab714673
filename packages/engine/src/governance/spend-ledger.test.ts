import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import type { ModelCallEstimate, ModelCallRecord } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countersAndRows, createTenantWithRun } from '../testing/tenant-ledger.ts';
import { type CallSlot, SpendLedger } from './spend-ledger.ts';
import { NO_LIMITS } from './tenant-limits.ts';

const correlation = { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16) };

function call(costUsd: number | null, inputTokens = 100, outputTokens = 50): ModelCallRecord {
  return {
    provider: 'openai',
    operation: 'chat',
    requestModel: 'gpt-4o-mini',
    responseModel: 'gpt-4o-mini-2024-07-18',
    responseId: `resp-${randomUUID()}`,
    inputTokens,
    outputTokens,
    cachedInputTokens: 0,
    reasoningTokens: 0,
    costUsd,
    pricingVersion: '2026-11-01',
    latencyMs: 12,
    finishReason: 'stop',
  };
}

const estimate = (costUsd: number | null, tokens = 100): ModelCallEstimate => ({
  provider: 'openai',
  operation: 'chat',
  requestModel: 'gpt-4o-mini',
  inputTokens: tokens,
  outputTokens: 0,
  costUsd,
});

describe('SpendLedger', () => {
  let db: TestDatabase;
  let ledger: SpendLedger;

  beforeAll(async () => {
    db = await createTestDatabase({ maxConnections: 20 });
    ledger = new SpendLedger({ sql: db.handle.sql, tracer: trace.getTracer('test') });
  });
  afterAll(() => db?.drop());

  const slot = (tenantId: string, runId: string, callIndex: number, attempt = 1): CallSlot => ({
    tenantId,
    owner: { kind: 'node', runId, nodeId: 'ask', attempt },
    callIndex,
    ...correlation,
  });

  it('writes each answered call once, with the day counter moved in the same statement', async () => {
    const { tenantId, runId } = await createTenantWithRun(db.handle.sql);
    await ledger.record(slot(tenantId, runId, 0), call(0.25), false);
    await ledger.record(slot(tenantId, runId, 1), call(0.5), false);
    // A repeated write of the same call (a retried statement, a redelivered write) changes nothing.
    await ledger.record(slot(tenantId, runId, 1), call(0.5), false);
    const rows = await db.handle
      .sql`select call_index, status from model_cost_logs where run_id = ${runId} order by 1`;
    expect(rows.map((r) => `${r.call_index}:${r.status}`)).toEqual(['0:settled', '1:settled']);
    expect(await countersAndRows(db.handle.sql, tenantId)).toEqual({
      counterSpend: 0.75,
      counterTokens: 300,
      rowsSpend: 0.75,
      rowsTokens: 300,
    });
    expect(await ledger.usage(tenantId)).toEqual({
      daySpendUsd: 0.75,
      dayTokens: 300,
      monthSpendUsd: 0.75,
      monthTokens: 300,
    });
  });

  it('lets exactly as many concurrent reservations through as the budget holds', async () => {
    const { tenantId, runId } = await createTenantWithRun(db.handle.sql);
    const limits = { ...NO_LIMITS, dailySpendUsd: 1 };
    // Ten reservations of $0.3 race for a $1 budget: three fit, whatever the interleaving.
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ledger.reserve(slot(tenantId, runId, i), estimate(0.3), limits)),
    );
    const granted = outcomes.filter((o) => o === null).length;
    expect(granted).toBe(3);
    const refused = outcomes.find((o) => o !== null);
    expect(refused).toMatchObject({ limit: 'dailySpendUsd', limitValue: 1, used: 0.9, requested: 0.3 });
    const reserved = await db.handle.sql`
      select call_index from model_cost_logs where run_id = ${runId} and status = 'reserved' order by 1`;
    expect(reserved).toHaveLength(3);
    expect((await countersAndRows(db.handle.sql, tenantId)).counterSpend).toBeCloseTo(0.9, 10);

    // Settling at the actual cost moves the counter by the difference; a failed call gives its estimate
    // back; an abandoned one keeps it.
    const [a, b, c] = reserved.map((r) => r.call_index as number) as [number, number, number];
    await ledger.record(slot(tenantId, runId, a), call(0.1), true);
    await ledger.release(slot(tenantId, runId, b), 'failed');
    await ledger.release(slot(tenantId, runId, c), 'abandoned');
    const after = await countersAndRows(db.handle.sql, tenantId);
    expect(after.counterSpend).toBeCloseTo(0.4, 10);
    expect(after.counterSpend).toBeCloseTo(after.rowsSpend, 10);
    expect(after.counterTokens).toBe(after.rowsTokens);
    const statuses = await db.handle.sql`
      select call_index, status from model_cost_logs where run_id = ${runId} order by 1`;
    expect(statuses.map((r) => r.status)).toEqual(['settled', 'abandoned']);
    // Now $0.6 is left: a $0.5 call fits, a further $0.2 one does not.
    expect(await ledger.reserve(slot(tenantId, runId, 20), estimate(0.5), limits)).toBeNull();
    expect(await ledger.reserve(slot(tenantId, runId, 21), estimate(0.2), limits)).toMatchObject({
      limit: 'dailySpendUsd',
    });
  });

  it('refuses a call to a model without a price under a spend budget, and checks token budgets', async () => {
    const { tenantId, runId } = await createTenantWithRun(db.handle.sql);
    expect(
      await ledger.reserve(slot(tenantId, runId, 0), estimate(null), { ...NO_LIMITS, monthlySpendUsd: 5 }),
    ).toMatchObject({ limit: 'monthlySpendUsd', unpriced: true });
    const tokens = { ...NO_LIMITS, dailyTokens: 250 };
    expect(await ledger.reserve(slot(tenantId, runId, 1), estimate(null, 200), tokens)).toBeNull();
    expect(await ledger.reserve(slot(tenantId, runId, 2), estimate(null, 100), tokens)).toMatchObject({
      limit: 'dailyTokens',
      used: 200,
      requested: 100,
    });
  });

  it("marks a lost attempt's rows, and its unsettled reservation as abandoned", async () => {
    const { tenantId, runId } = await createTenantWithRun(db.handle.sql);
    const limits = { ...NO_LIMITS, dailySpendUsd: 100 };
    await ledger.reserve(slot(tenantId, runId, 0), estimate(0.2), limits);
    await ledger.record(slot(tenantId, runId, 0), call(0.1), true);
    await ledger.reserve(slot(tenantId, runId, 1), estimate(0.2), limits);
    await ledger.record(slot(tenantId, runId, 0, 2), call(0.1), false);
    expect(await ledger.markAttemptLost(runId, 'ask', 1)).toBe(2);
    const rows = await db.handle.sql`
      select attempt, call_index, status, attempt_lost from model_cost_logs where run_id = ${runId}
      order by attempt, call_index`;
    expect(rows.map((r) => [r.attempt, r.call_index, r.status, r.attempt_lost])).toEqual([
      [1, 0, 'settled', true],
      [1, 1, 'abandoned', true],
      [2, 0, 'settled', false],
    ]);
    const totals = await countersAndRows(db.handle.sql, tenantId);
    expect(totals.counterSpend).toBeCloseTo(0.4, 10);
    expect(totals.counterSpend).toBeCloseTo(totals.rowsSpend, 10);
  });

  it('records calls outside a run (ingestion) under their own key', async () => {
    const { tenantId } = await createTenantWithRun(db.handle.sql);
    const ingestionId = randomUUID();
    const ingestion = (callIndex: number): CallSlot => ({
      tenantId,
      owner: { kind: 'ingestion', ingestionId },
      callIndex,
      ...correlation,
    });
    await ledger.record(ingestion(0), { ...call(0.01, 500, 0), operation: 'embeddings' }, false);
    await ledger.record(ingestion(0), { ...call(0.01, 500, 0), operation: 'embeddings' }, false);
    await ledger.record(ingestion(1), { ...call(0.02, 900, 0), operation: 'embeddings' }, false);
    const rows = await db.handle.sql`
      select run_id, call_index, operation from model_cost_logs where ingestion_id = ${ingestionId} order by 2`;
    expect(rows.map((r) => [r.run_id, r.call_index, r.operation])).toEqual([
      [null, 0, 'embeddings'],
      [null, 1, 'embeddings'],
    ]);
    expect((await ledger.usage(tenantId)).dayTokens).toBe(1400);
  });
});
