import type { Sql } from '@flowtrace/db';
import type { Tracer } from '@opentelemetry/api';
import { type AddDocumentsResult, addDocuments, type IngestDocument } from './add-documents.ts';
import { ChunkSearch, type SearchHit, type SearchOptions } from './chunk-search.ts';
import type { Embedder, EmbedOptions } from './embedder.ts';
import {
  type CollectionSpec,
  ensureCollection,
  getCollection,
  type RagCollection,
} from './rag-collections.ts';

export interface VectorStoreDeps {
  /** A postgres.js pool on the vector database (`VECTOR_DATABASE_URL`), with pgvector and the rag tables. */
  sql: Sql;
  tracer: Tracer;
}

export interface VectorStoreOptions {
  /** Chunks embedded per `embed` call during ingestion (the embedder batches its requests below that). Default 256. */
  embedBatchChunks?: number;
}

/**
 * Tenant-scoped collections of embedded chunks in Postgres with pgvector. Every collection has its own
 * partial HNSW index on `embedding::vector(<dims>)` (created with the collection); searches use the same
 * cast and a literal `collection_id` predicate so that the planner can pick it.
 */
export class VectorStore {
  readonly #sql: Sql;
  readonly #embedBatchChunks: number;
  readonly #search: ChunkSearch;

  constructor(deps: VectorStoreDeps, options: VectorStoreOptions = {}) {
    this.#sql = deps.sql;
    this.#embedBatchChunks = options.embedBatchChunks ?? 256;
    this.#search = new ChunkSearch(deps);
  }

  /** The tenant's collection of that name, or null. A tenant never sees another tenant's collection. */
  getCollection(tenantId: string, name: string): Promise<RagCollection | null> {
    return getCollection(this.#sql, tenantId, name);
  }

  /**
   * Returns the tenant's collection, creating it (row and HNSW index, in one transaction) when it does not
   * exist. An existing collection is returned as it is, whatever embedder `spec` names; callers compare.
   */
  ensureCollection(spec: CollectionSpec): Promise<{ collection: RagCollection; created: boolean }> {
    return ensureCollection(this.#sql, spec);
  }

  /**
   * Chunks, embeds and stores documents. Idempotent by content: a document whose content (SHA-256) is
   * already in the collection is reported `unchanged` and costs no embedding call.
   */
  addDocuments(
    collection: RagCollection,
    documents: readonly IngestDocument[],
    options: { embedder: Embedder } & EmbedOptions,
  ): Promise<AddDocumentsResult> {
    return addDocuments(
      { sql: this.#sql, embedBatchChunks: this.#embedBatchChunks },
      collection,
      documents,
      options,
    );
  }

  /**
   * The `topK` chunks nearest to `queryVector` by cosine distance, optionally filtered by metadata
   * equality, as a CLIENT span `retrieval <collection>`.
   */
  search(
    collection: RagCollection,
    queryVector: readonly number[],
    options: SearchOptions,
  ): Promise<SearchHit[]> {
    return this.#search.search(collection, queryVector, options);
  }
}
