import { sql } from 'drizzle-orm';
import {
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * A pgvector `vector` column WITHOUT a fixed dimension, so that collections embedded by different models
 * share one table. Drizzle's built-in `vector()` requires `dimensions`, hence the custom type. Similarity
 * search casts to the collection's dimension (`embedding::vector(<dims>)`), which is what the per-collection
 * HNSW index is built on (see `rag_chunks` below).
 */
export const unsizedVector = customType<{ data: number[]; driverData: string }>({
  dataType() {
    return 'vector';
  },
  toDriver(value) {
    return `[${value.join(',')}]`;
  },
  fromDriver(value) {
    return value
      .slice(1, -1)
      .split(',')
      .filter((v) => v.length > 0)
      .map(Number);
  },
});

/**
 * Named, tenant-scoped collections. The embedding model and dimension are fixed at creation: every
 * chunk of a collection is embedded by the same model, and queries must use it too.
 */
export const ragCollections = pgTable(
  'rag_collections',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    /** No foreign key: the vector store may live in another database (`VECTOR_DATABASE_URL`). */
    tenantId: uuid('tenant_id').notNull(),
    name: text('name').notNull(),
    embeddingProvider: text('embedding_provider').notNull(),
    embeddingModel: text('embedding_model').notNull(),
    dimensions: integer('dimensions').notNull(),
    chunkSize: integer('chunk_size').notNull(),
    chunkOverlap: integer('chunk_overlap').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('rag_collections_tenant_name_key').on(t.tenantId, t.name)],
);

/** Ingested documents. `(collection_id, content_hash)` is unique, so re-ingesting a document is a no-op. */
export const ragDocuments = pgTable(
  'rag_documents',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    collectionId: uuid('collection_id')
      .notNull()
      .references(() => ragCollections.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    source: text('source'),
    title: text('title'),
    metadata: jsonb('metadata').notNull().default(sql`'{}'::jsonb`),
    /** SHA-256 (hex) of the document's content. */
    contentHash: text('content_hash').notNull(),
    chunkCount: integer('chunk_count').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('rag_documents_collection_hash_key').on(t.collectionId, t.contentHash),
    index('rag_documents_tenant_idx').on(t.tenantId),
  ],
);

/**
 * Chunks with their embeddings. The HNSW index is NOT declared here: an index needs a fixed dimension,
 * so each collection gets its own partial expression index, created with the collection:
 * `CREATE INDEX rag_chunks_hnsw_<id hex> ON rag_chunks USING hnsw ((embedding::vector(<dims>))
 * vector_cosine_ops) WHERE collection_id = '<id>'` (see `collectionIndexStatement` in the executors' rag
 * folder). Queries repeat the same cast and predicate so that the planner can use it.
 */
export const ragChunks = pgTable(
  'rag_chunks',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    documentId: uuid('document_id')
      .notNull()
      .references(() => ragDocuments.id, { onDelete: 'cascade' }),
    collectionId: uuid('collection_id')
      .notNull()
      .references(() => ragCollections.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    chunkIndex: integer('chunk_index').notNull(),
    content: text('content').notNull(),
    /** The document's metadata (merged into each chunk, so that filters need no join). */
    metadata: jsonb('metadata').notNull().default(sql`'{}'::jsonb`),
    /** Estimated (about four characters per token) unless the embedder reports counts. */
    tokenCount: integer('token_count').notNull(),
    embedding: unsizedVector('embedding').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('rag_chunks_document_chunk_key').on(t.documentId, t.chunkIndex),
    index('rag_chunks_collection_idx').on(t.collectionId),
  ],
);
