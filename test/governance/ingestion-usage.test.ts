import type { IngestDocuments } from '@flowtrace/api';
import {
  ingestionCalls,
  NO_LIMITS,
  RunAdmission,
  RunQuotas,
  SpendLedger,
  TenantLimitsStore,
} from '@flowtrace/engine';
import { EmbedderRegistry, ingestDocuments, OfflineEmbedder, VectorStore } from '@flowtrace/executors';
import { type PgliteVectorServer, startPgliteVectorServer } from '@flowtrace/executors/testing';
import { startInMemoryTracing } from '@flowtrace/telemetry/testing';
import { trace } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';

/**
 * Embedding spend of document ingestion (no run to attach it to) is recorded per call under an ingestion
 * id, counts towards the tenant's budgets, and shows in GET /v1/usage. Ingestion is wired as `apps/api`
 * wires it, over a real pgvector store (the embedded PGlite) and the offline embedder.
 */
describe('ingestion usage', () => {
  let fleet: InProcessFleet;
  let vector: PgliteVectorServer;
  let redis: Redis;

  beforeAll(async () => {
    vector = await startPgliteVectorServer();
    redis = new Redis('redis://127.0.0.1:6379');
    const tracer = trace.getTracer('flowtrace-test');
    const store = new VectorStore({ sql: vector.sql, tracer });
    const embedders = new EmbedderRegistry([new OfflineEmbedder({ tracer })]);
    const ingest: IngestDocuments = async (tenantId, collection, body) => {
      const sql = fleet.db.handle.sql;
      const limits = new TenantLimitsStore({ sql }, { cacheTtlMs: 0 });
      const spend = new SpendLedger({ sql });
      const admission = new RunAdmission({
        limits,
        spend,
        quotas: new RunQuotas({ redis, sql }, { prefix: fleet.prefix }),
      });
      await admission.assertWithinBudget(tenantId, 'ingestion');
      return ingestDocuments(
        { store, embedders, tracer },
        {
          tenantId,
          collection,
          documents: body.documents.map((d) => ({ content: d.content })),
          ledger: ingestionCalls({ spend, limits }, tenantId),
        },
      );
    };
    fleet = await startInProcessFleet({
      executors: [],
      deferredSpans: startInMemoryTracing().deferredSpans,
      ingest,
    });
  }, 120_000);

  afterAll(async () => {
    redis?.disconnect();
    await fleet?.close();
    await vector?.close();
  });

  const api = async (method: string, url: string, body?: unknown) => {
    const response = await fleet.app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${fleet.apiKey}` },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    return { status: response.statusCode, body: response.json() };
  };

  it('records the embedding calls of an ingestion and reports them without a workflow', async () => {
    const documents = [
      { content: 'Refunds are paid within 14 days.' },
      { content: 'Orders ship in 2 days.' },
    ];
    const ingested = await api('POST', '/v1/collections/handbook/documents', { documents });
    expect(ingested.status).toBe(201);
    const rows = await fleet.db.handle.sql`
      select run_id, ingestion_id, operation, provider, status, input_tokens from model_cost_logs
      where tenant_id = ${fleet.tenantId}`;
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row).toMatchObject({ run_id: null, operation: 'embeddings', provider: 'flowtrace.offline' });
      expect(row.ingestion_id).toEqual(expect.any(String));
    }
    const usage = await api('GET', '/v1/usage?groupBy=workflow,provider');
    expect(usage.status).toBe(200);
    expect(usage.body.rows).toEqual([
      expect.objectContaining({
        workflowId: null,
        workflowName: null,
        provider: 'flowtrace.offline',
        calls: rows.length,
        costUsd: 0,
      }),
    ]);
    expect(usage.body.totals.inputTokens).toBe(rows.reduce((sum, r) => sum + Number(r.input_tokens), 0));
  });

  it('refuses an ingestion once a token budget is used up, writing nothing', async () => {
    const [{ tokens }] = (await fleet.db.handle.sql`
      select coalesce(sum(input_tokens), 0)::int as tokens from model_cost_logs where tenant_id = ${fleet.tenantId}`) as [
      { tokens: number },
    ];
    await fleet.limits.set(fleet.tenantId, 'operator', { ...NO_LIMITS, dailyTokens: tokens });
    const before = await fleet.db.handle.sql`select count(*)::int as n from model_cost_logs`;
    const refused = await api('POST', '/v1/collections/handbook/documents', {
      documents: [{ content: 'A new policy nobody may read.' }],
    });
    expect(refused.status).toBe(402);
    expect(refused.body.error).toMatchObject({
      code: 'budget_exceeded',
      details: { limit: 'dailyTokens', limitValue: tokens, used: tokens },
    });
    const calls = await fleet.db.handle.sql`select count(*)::int as n from model_cost_logs`;
    expect(calls[0]?.n).toBe(before[0]?.n);
  });
});
