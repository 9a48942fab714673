import { randomUUID } from 'node:crypto';
import {
  type JsonValue,
  type ModelCallRecord,
  NODE_CONFIG_SCHEMAS,
  type NodeExecutionContext,
  PermanentNodeError,
  type RagNodeConfig,
} from '@flowtrace/workflow';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAiServer } from '../testing/fake-openai-server.ts';
import { silentLogger } from '../testing/silent-logger.ts';
import { EmbedderRegistry } from './embedder.ts';
import { ingestDocuments } from './ingest-documents.ts';
import { OfflineEmbedder } from './offline-embedder.ts';
import { OpenAiCompatibleEmbedder } from './openai-compatible-embedder.ts';
import { type PgliteVectorServer, startPgliteVectorServer } from './pglite-vector-server.ts';
import { createRagExecutor } from './rag-executor.ts';
import { HANDBOOK } from './test-fixtures.ts';
import { VectorStore } from './vector-store.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('rag-executor.test');

let pg: PgliteVectorServer;
let fakeOpenAi: FakeOpenAiServer;
let store: VectorStore;
let embedders: EmbedderRegistry;
let openAiEmbedder: OpenAiCompatibleEmbedder;
const tenant = randomUUID();

interface LedgerEntry {
  record: ModelCallRecord;
  activeSpanId: string | undefined;
}

function ctxFor(
  config: Partial<RagNodeConfig>,
  ledger: LedgerEntry[],
  tenantId = tenant,
): NodeExecutionContext<'rag'> {
  return {
    runId: 'run-7',
    tenantId,
    workflowId: 'wf',
    workflowName: 'wf',
    nodeId: 'lookup',
    nodeType: 'rag',
    attempt: 1,
    config: NODE_CONFIG_SCHEMAS.rag.parse({
      collection: 'handbook',
      query: '{{ input.question }}',
      ...config,
    }),
    input: { question: 'How many vacation days carry over to next year?', topic: 'invoices' },
    upstream: { classify: { dept: 'billing' } },
    signal: new AbortController().signal,
    logger: silentLogger,
    ledger: {
      recordModelCall: (record) =>
        void ledger.push({ record, activeSpanId: trace.getActiveSpan()?.spanContext().spanId }),
      recordAgentStep: () => undefined,
    },
  };
}

async function run(ctx: NodeExecutionContext<'rag'>) {
  const executor = createRagExecutor({
    store,
    embedders,
    pricing: {
      computeCost: (_p, _m, usage) => ({ costUsd: usage.inputTokens * 0.00000002, pricingVersion: 'test' }),
    },
  });
  let output: JsonValue | undefined;
  let error: unknown;
  await tracer.startActiveSpan('process nodes.rag', { kind: SpanKind.CONSUMER }, async (span) => {
    try {
      output = await executor.execute(ctx);
    } catch (e) {
      error = e;
    } finally {
      span.end();
    }
  });
  await provider.forceFlush();
  return {
    output: output as { collection: string; query: string; chunks: Record<string, JsonValue>[] },
    error,
  };
}

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  [pg, fakeOpenAi] = await Promise.all([
    startPgliteVectorServer(),
    new FakeOpenAiServer({ embeddingDimensions: 16 }).start(),
  ]);
  store = new VectorStore({ sql: pg.sql, tracer });
  openAiEmbedder = new OpenAiCompatibleEmbedder({
    baseURL: fakeOpenAi.baseUrl,
    model: 'text-embedding-3-small',
    dimensions: 16,
    tracer,
  });
  embedders = new EmbedderRegistry([new OfflineEmbedder({ tracer }), openAiEmbedder]);
  await ingestDocuments(
    { store, embedders, tracer },
    { tenantId: tenant, collection: 'handbook', documents: HANDBOOK },
  );
  // A collection built by the OpenAI-compatible embedder: queries must use that embedder, not the default.
  await ingestDocuments(
    { store, embedders: new EmbedderRegistry([openAiEmbedder]), tracer },
    { tenantId: tenant, collection: 'remote', documents: HANDBOOK },
  );
});

afterEach(() => {
  exporter.reset();
  fakeOpenAi.reset();
});

afterAll(async () => {
  await Promise.all([pg?.close(), fakeOpenAi?.close()]);
  await provider.shutdown();
  trace.disable();
  context.disable();
});

describe('rag executor', () => {
  it('renders the query, embeds it and returns the most relevant chunks first', async () => {
    const ledger: LedgerEntry[] = [];
    const { output, error } = await run(ctxFor({ topK: 2 }, ledger));
    expect(error).toBeUndefined();
    expect(output.collection).toBe('handbook');
    expect(output.query).toBe('How many vacation days carry over to next year?');
    expect(output.chunks).toHaveLength(2);
    expect(output.chunks[0]).toMatchObject({ source: 'leave.md', metadata: { dept: 'hr' } });
    expect(typeof output.chunks[0]?.documentId).toBe('string');
    expect(String(output.chunks[0]?.content)).toMatch(/vacation days/);
    expect(Number(output.chunks[0]?.score)).toBeGreaterThan(Number(output.chunks[1]?.score));
  });

  it('traces embeddings and retrieval under the node span and records the embedding call on its span', async () => {
    const ledger: LedgerEntry[] = [];
    await run(ctxFor({ query: 'late {{ input.topic }} fee', filter: { dept: 'billing' } }, ledger));
    const spans = exporter.getFinishedSpans();
    const node = spans.find((s) => s.name === 'process nodes.rag');
    const embeddings = spans.find((s) => s.name === 'embeddings offline-hashing-256');
    const retrieval = spans.find((s) => s.name === 'retrieval handbook');
    expect(embeddings?.parentSpanContext?.spanId).toBe(node?.spanContext().spanId);
    expect(retrieval?.parentSpanContext?.spanId).toBe(node?.spanContext().spanId);
    expect(retrieval?.attributes['flowtrace.rag.filtered']).toBe(true);
    expect(ledger).toHaveLength(1);
    expect(ledger[0]?.activeSpanId).toBe(embeddings?.spanContext().spanId);
    expect(ledger[0]?.record).toMatchObject({
      provider: 'flowtrace.offline',
      operation: 'embeddings',
      requestModel: 'offline-hashing-256',
      outputTokens: 0,
      costUsd: 0,
    });
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('late invoices fee');
  });

  it('applies the filter from the node config', async () => {
    const { output } = await run(
      ctxFor({ query: 'invoices sent monthly', filter: { lang: 'de' }, topK: 5 }, []),
    );
    expect(output.chunks.map((c) => c.source)).toEqual(['billing-de.md']);
  });

  it("embeds with the collection's own embedder", async () => {
    const ledger: LedgerEntry[] = [];
    const exact = HANDBOOK[1]?.content ?? '';
    const { output } = await run(ctxFor({ collection: 'remote', query: exact, topK: 1 }, ledger));
    expect(fakeOpenAi.requests).toHaveLength(1);
    expect(output.chunks[0]?.source).toBe('api.md');
    expect(Number(output.chunks[0]?.score)).toBeCloseTo(1, 4);
    expect(ledger[0]?.record).toMatchObject({
      provider: 'openai',
      requestModel: 'text-embedding-3-small',
      pricingVersion: 'test',
    });
    expect(ledger[0]?.record.costUsd).toBeGreaterThan(0);
  });

  it('fails permanently with not_found for an unknown collection or another tenant’s', async () => {
    const unknown = await run(ctxFor({ collection: 'nope' }, []));
    expect(unknown.error).toBeInstanceOf(PermanentNodeError);
    expect(unknown.error).toMatchObject({ code: 'not_found', nodeId: 'lookup' });
    expect((unknown.error as Error).message).toMatch(/collection "nope" does not exist/);
    const otherTenant = await run(ctxFor({}, [], randomUUID()));
    expect(otherTenant.error).toMatchObject({ code: 'not_found' });
  });

  it('rejects an empty rendered query and a missing template variable', async () => {
    const empty = await run({ ...ctxFor({ query: '{{ input.blank }}' }, []), input: { blank: '   ' } });
    expect(empty.error).toMatchObject({ code: 'invalid_input' });
    const missing = await run(ctxFor({ query: '{{ input.nothing }}' }, []));
    expect(missing.error).toMatchObject({ code: 'template_variable_missing' });
  });
});
