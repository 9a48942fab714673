import { randomUUID } from 'node:crypto';
import { FlowtraceAttributes } from '@flowtrace/telemetry';
import { ATTR_GEN_AI_RETRIEVAL_DOCUMENTS, ATTR_GEN_AI_RETRIEVAL_TOP_K } from '@flowtrace/telemetry/semconv';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IngestDocument } from './add-documents.ts';
import { EmbedderRegistry, type EmbeddingCall } from './embedder.ts';
import { ingestDocuments } from './ingest-documents.ts';
import { OfflineEmbedder } from './offline-embedder.ts';
import { type PgliteVectorServer, startPgliteVectorServer } from './pglite-vector-server.ts';
import type { RagCollection } from './rag-collections.ts';
import { HANDBOOK } from './test-fixtures.ts';
import { collectionIndexName } from './vector-ddl.ts';
import { VectorStore } from './vector-store.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('vector-store.test');
const embedder = new OfflineEmbedder({ tracer });
const embedders = new EmbedderRegistry([embedder]);

let pg: PgliteVectorServer;
let store: VectorStore;

function newTenant(): string {
  return randomUUID();
}

async function ingest(
  tenantId: string,
  collection: string,
  documents: IngestDocument[],
  onCall?: (c: EmbeddingCall) => void,
) {
  return ingestDocuments(
    { store, embedders, tracer },
    {
      tenantId,
      collection,
      documents,
      chunkSize: 200,
      chunkOverlap: 40,
      ...(onCall ? { onEmbeddingCall: onCall } : {}),
    },
  );
}

async function queryVector(text: string): Promise<number[]> {
  const { vectors } = await embedder.embed([text]);
  return vectors[0] as number[];
}

async function collectionOf(tenantId: string, name: string): Promise<RagCollection> {
  const collection = await store.getCollection(tenantId, name);
  if (collection === null) throw new Error('collection missing');
  return collection;
}

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  pg = await startPgliteVectorServer();
  store = new VectorStore({ sql: pg.sql, tracer });
});

afterEach(() => exporter.reset());

afterAll(async () => {
  await pg?.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

describe('VectorStore with pgvector (PGlite over the wire protocol)', () => {
  it('ingests documents and retrieves the relevant chunk first', async () => {
    const tenant = newTenant();
    const result = await ingest(tenant, 'handbook', HANDBOOK);
    expect(result.collection).toMatchObject({
      name: 'handbook',
      created: true,
      embeddingProvider: 'flowtrace.offline',
      dimensions: 256,
    });
    expect(result.documentsAdded).toBe(4);
    expect(result.chunksAdded).toBeGreaterThanOrEqual(4);

    const collection = await collectionOf(tenant, 'handbook');
    const cases: [string, string][] = [
      ['when are invoices sent each month', 'billing.md'],
      ['what is the API rate limit per minute', 'api.md'],
      ['how many vacation days carry over', 'leave.md'],
    ];
    for (const [question, source] of cases) {
      const hits = await store.search(collection, await queryVector(question), { topK: 3 });
      expect(hits[0]?.source).toBe(source);
      expect(hits[0]?.score).toBeGreaterThan(hits[1]?.score ?? -1);
      expect(hits[0]?.score).toBeLessThanOrEqual(1);
    }
  });

  it('creates a partial HNSW index per collection that the planner can use', async () => {
    const tenant = newTenant();
    await ingest(tenant, 'indexed', HANDBOOK);
    const collection = await collectionOf(tenant, 'indexed');
    const [index] = await pg.sql<{ indexdef: string }[]>`
      SELECT indexdef FROM pg_indexes WHERE indexname = ${collectionIndexName(collection.id)}`;
    expect(index?.indexdef).toMatch(
      /USING hnsw \(\(\(embedding\)::vector\(256\)\) vector_cosine_ops\) WHERE \(collection_id = '/,
    );

    const vector = `[${(await queryVector('invoice')).join(',')}]`;
    const plan = await pg.sql.begin(async (tx) => {
      // A handful of rows would be seq-scanned anyway; forbid that to see whether the index is usable.
      await tx`SET LOCAL enable_seqscan = off`;
      return tx.unsafe(
        `EXPLAIN SELECT id FROM rag_chunks WHERE collection_id = '${collection.id}' AND tenant_id = $2
         ORDER BY embedding::vector(256) <=> $1::vector(256) LIMIT 3`,
        [vector, tenant],
      );
    });
    expect(JSON.stringify(plan)).toContain(`Index Scan using ${collectionIndexName(collection.id)}`);
  });

  it('filters by metadata equality', async () => {
    const tenant = newTenant();
    await ingest(tenant, 'filtered', HANDBOOK);
    const collection = await collectionOf(tenant, 'filtered');
    const vector = await queryVector('invoices sent monthly');
    const german = await store.search(collection, vector, {
      topK: 5,
      filter: { dept: 'billing', lang: 'de' },
    });
    expect(german.map((h) => h.source)).toEqual(['billing-de.md']);
    const hr = await store.search(collection, vector, { topK: 5, filter: { dept: 'hr' } });
    expect(hr.every((h) => h.metadata.dept === 'hr')).toBe(true);
    expect(hr.length).toBeGreaterThan(0);
    expect(await store.search(collection, vector, { topK: 5, filter: { dept: 'nope' } })).toEqual([]);
  });

  it('never lets a tenant read another tenant’s collection', async () => {
    const alice = newTenant();
    const bob = newTenant();
    await ingest(alice, 'shared-name', HANDBOOK.slice(0, 1));
    await ingest(bob, 'shared-name', HANDBOOK.slice(2, 3));
    const aliceCollection = await collectionOf(alice, 'shared-name');
    const bobCollection = await collectionOf(bob, 'shared-name');
    expect(aliceCollection.id).not.toBe(bobCollection.id);
    const vector = await queryVector('invoices vacation');
    const aliceHits = await store.search(aliceCollection, vector, { topK: 10 });
    const bobHits = await store.search(bobCollection, vector, { topK: 10 });
    expect(aliceHits.map((h) => h.source)).toEqual(expect.arrayContaining(['billing.md']));
    expect(aliceHits.some((h) => h.source === 'leave.md')).toBe(false);
    expect(new Set(bobHits.map((h) => h.source))).toEqual(new Set(['leave.md']));
    expect(await store.getCollection(newTenant(), 'shared-name')).toBeNull();
    // A collection object forged with another tenant's id finds nothing.
    expect(await store.search({ ...aliceCollection, tenantId: bob }, vector, { topK: 10 })).toEqual([]);
  });

  it('is idempotent: re-ingesting the same content adds nothing and embeds nothing', async () => {
    const tenant = newTenant();
    const calls: EmbeddingCall[] = [];
    const first = await ingest(tenant, 'idem', HANDBOOK, (c) => calls.push(c));
    expect(calls.length).toBeGreaterThan(0);
    calls.length = 0;
    const again = await ingest(tenant, 'idem', [...HANDBOOK, HANDBOOK[0] as IngestDocument], (c) =>
      calls.push(c),
    );
    expect(calls).toEqual([]);
    expect(again.collection.created).toBe(false);
    expect(again).toMatchObject({ documentsAdded: 0, documentsUnchanged: 5, chunksAdded: 0 });
    expect(again.documents[4]?.documentId).toBe(first.documents[0]?.documentId);
    const [{ count } = { count: 0 }] = await pg.sql<{ count: number }[]>`
      SELECT count(*)::int AS count FROM rag_documents WHERE collection_id = ${first.collection.id}`;
    expect(count).toBe(4);

    const mixed = await ingest(tenant, 'idem', [
      { content: 'A brand new document about invoices.', source: 'new.md' },
      { content: 'A brand new document about invoices.', source: 'dup.md' },
      HANDBOOK[1] as IngestDocument,
    ]);
    expect(mixed).toMatchObject({ documentsAdded: 1, documentsUnchanged: 2 });
    expect(mixed.documents.map((d) => d.status)).toEqual(['added', 'unchanged', 'unchanged']);
  });

  it('creates a collection once under concurrent first use', async () => {
    const tenant = newTenant();
    const spec = {
      tenantId: tenant,
      name: 'race',
      embeddingProvider: embedder.provider,
      embeddingModel: embedder.model,
      dimensions: embedder.dimensions,
      chunkSize: 200,
      chunkOverlap: 20,
    };
    const results = await Promise.all([
      store.ensureCollection(spec),
      store.ensureCollection(spec),
      store.ensureCollection(spec),
    ]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.collection.id)).size).toBe(1);
  });

  it('widens the HNSW candidate list for large top-k', async () => {
    const tenant = newTenant();
    const documents = Array.from({ length: 60 }, (_, i) => ({
      content: `Note ${i}: the quarterly report for region ${i % 7} mentions invoices and shipping item ${i}.`,
      source: `note-${i}.md`,
    }));
    await ingest(tenant, 'many', documents);
    const collection = await collectionOf(tenant, 'many');
    const hits = await store.search(collection, await queryVector('quarterly report invoices'), { topK: 55 });
    expect(hits).toHaveLength(55);
    const scores = hits.map((h) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('traces each search as a CLIENT span retrieval <collection>', async () => {
    const tenant = newTenant();
    await ingest(tenant, 'traced', HANDBOOK);
    const collection = await collectionOf(tenant, 'traced');
    exporter.reset();
    await store.search(collection, await queryVector('invoice'), { topK: 2, filter: { lang: 'en' } });
    await provider.forceFlush();
    const span = exporter.getFinishedSpans().find((s) => s.name === 'retrieval traced');
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.attributes).toMatchObject({
      'gen_ai.operation.name': 'retrieval',
      'gen_ai.data_source.id': 'traced',
      [ATTR_GEN_AI_RETRIEVAL_TOP_K]: 2,
      [FlowtraceAttributes.RAG_TOP_K]: 2,
      [FlowtraceAttributes.RAG_RESULT_COUNT]: 2,
      [FlowtraceAttributes.RAG_FILTERED]: true,
    });
    expect(JSON.parse(String(span?.attributes[ATTR_GEN_AI_RETRIEVAL_DOCUMENTS]))).toHaveLength(2);
    expect(JSON.stringify(span?.attributes)).not.toContain('Invoices are sent');
  });

  it('refuses an embedder that does not match the collection', async () => {
    const tenant = newTenant();
    await ingest(tenant, 'fixed', HANDBOOK.slice(0, 1));
    const collection = await collectionOf(tenant, 'fixed');
    const other = new OfflineEmbedder({ tracer, dimensions: 64 });
    await expect(
      store.addDocuments(collection, HANDBOOK.slice(1, 2), { embedder: other }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(store.search(collection, new Array(64).fill(0.1), { topK: 1 })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('rejects bad ingestion input', async () => {
    const tenant = newTenant();
    await expect(ingest(tenant, '1bad', HANDBOOK)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(ingest(tenant, 'empty', [])).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(ingest(tenant, 'blank', [{ content: '   ' }])).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });
});
