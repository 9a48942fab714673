import type { IngestDocuments } from '@flowtrace/api';
import type { Sql } from '@flowtrace/db';
import { EmbedderRegistry, ingestDocuments, OfflineEmbedder, VectorStore } from '@flowtrace/executors';
import { startPgliteVectorServer } from '@flowtrace/executors/testing';
import { trace } from '@opentelemetry/api';

export interface TestIngestion {
  /** What `POST /v1/collections/:name/documents` calls, as the API wires it. */
  readonly ingest: IngestDocuments;
  /** The vector store's database (rag_collections, rag_documents, rag_chunks). */
  readonly sql: Sql;
  close(): Promise<void>;
}

/**
 * RAG ingestion over a real pgvector store (the embedded PGlite with the vector migrations, served over
 * the Postgres wire protocol) and the offline embedder, wired as `apps/api` wires it.
 */
export async function startTestIngestion(): Promise<TestIngestion> {
  const pg = await startPgliteVectorServer();
  const tracer = trace.getTracer('flowtrace-test');
  const store = new VectorStore({ sql: pg.sql, tracer });
  const embedders = new EmbedderRegistry([new OfflineEmbedder({ tracer })]);
  return {
    sql: pg.sql,
    ingest: (tenantId, collection, body) =>
      ingestDocuments(
        { store, embedders, tracer },
        {
          tenantId,
          collection,
          documents: body.documents,
          chunkSize: body.chunkSize,
          chunkOverlap: body.chunkOverlap,
        },
      ),
    close: () => pg.close(),
  };
}
