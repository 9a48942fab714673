import { createHash } from 'node:crypto';
import type { Sql } from '@flowtrace/db';
import { FlowtraceAttributes, withSpan } from '@flowtrace/telemetry';
import {
  ATTR_DB_SYSTEM_NAME,
  ATTR_GEN_AI_DATA_SOURCE_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_RETRIEVAL_DOCUMENTS,
  ATTR_GEN_AI_RETRIEVAL_TOP_K,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
  GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL,
} from '@flowtrace/telemetry/semconv';
import { type JsonValue, PermanentNodeError } from '@flowtrace/workflow';
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { chunkText, estimateTokens, validateChunkOptions } from './chunker.ts';
import type { Embedder, EmbedOptions } from './embedder.ts';
import { assertDimensions, assertUuid, collectionIndexStatement } from './vector-ddl.ts';

export interface RagCollection {
  id: string;
  tenantId: string;
  name: string;
  embeddingProvider: string;
  embeddingModel: string;
  dimensions: number;
  chunkSize: number;
  chunkOverlap: number;
  createdAt: Date;
}

export interface CollectionSpec {
  tenantId: string;
  name: string;
  embeddingProvider: string;
  embeddingModel: string;
  dimensions: number;
  chunkSize: number;
  chunkOverlap: number;
}

export type DocumentMetadata = Record<string, JsonValue>;

export interface IngestDocument {
  content: string;
  source?: string;
  title?: string;
  /** Copied onto every chunk, where `filter` matches it. */
  metadata?: DocumentMetadata;
}

export interface DocumentResult {
  documentId: string;
  source: string | null;
  /** `unchanged`: a document with the same content was already in the collection. */
  status: 'added' | 'unchanged';
  chunkCount: number;
}

export interface AddDocumentsResult {
  documentsAdded: number;
  documentsUnchanged: number;
  chunksAdded: number;
  /** One entry per input document, in input order. */
  documents: DocumentResult[];
}

/** Equality on chunk metadata keys (`metadata @> filter`). */
export type MetadataFilter = Record<string, string | number | boolean>;

export interface SearchOptions {
  topK: number;
  filter?: MetadataFilter;
}

export interface SearchHit {
  chunkId: string;
  documentId: string;
  chunkIndex: number;
  content: string;
  metadata: DocumentMetadata;
  source: string | null;
  title: string | null;
  /** Cosine similarity, `1 - cosine distance` (1 = same direction). */
  score: number;
}

export interface VectorStoreDeps {
  /** A postgres.js pool on the vector database (`VECTOR_DATABASE_URL`), with pgvector and the rag tables. */
  sql: Sql;
  tracer: Tracer;
}

export interface VectorStoreOptions {
  /** Chunks embedded per `embed` call during ingestion (the embedder batches its requests below that). Default 256. */
  embedBatchChunks?: number;
}

interface CollectionRow {
  id: string;
  tenant_id: string;
  name: string;
  embedding_provider: string;
  embedding_model: string;
  dimensions: number;
  chunk_size: number;
  chunk_overlap: number;
  created_at: Date;
}

interface PendingDocument {
  position: number;
  doc: IngestDocument;
  hash: string;
  chunks: { content: string; index: number }[];
}

/** pgvector's default `hnsw.ef_search`; an HNSW scan returns at most this many rows unless raised. */
const DEFAULT_EF_SEARCH = 40;

/**
 * Tenant-scoped collections of embedded chunks in Postgres with pgvector. Every collection has its own
 * partial HNSW index on `embedding::vector(<dims>)` (created with the collection); searches use the same
 * cast and a literal `collection_id` predicate so that the planner can pick it.
 */
export class VectorStore {
  readonly #sql: Sql;
  readonly #tracer: Tracer;
  readonly #embedBatchChunks: number;
  #iterativeScan: Promise<boolean> | undefined;

  constructor(deps: VectorStoreDeps, options: VectorStoreOptions = {}) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
    this.#embedBatchChunks = options.embedBatchChunks ?? 256;
  }

  /** The tenant's collection of that name, or null. A tenant never sees another tenant's collection. */
  async getCollection(tenantId: string, name: string): Promise<RagCollection | null> {
    const rows = await this.#sql<CollectionRow[]>`
      SELECT * FROM rag_collections WHERE tenant_id = ${assertUuid(tenantId)} AND name = ${name}`;
    const row = rows[0];
    return row === undefined ? null : toCollection(row);
  }

  /**
   * Returns the tenant's collection, creating it (row and HNSW index, in one transaction) when it does not
   * exist. An existing collection is returned as it is, whatever embedder `spec` names; callers compare.
   */
  async ensureCollection(spec: CollectionSpec): Promise<{ collection: RagCollection; created: boolean }> {
    const tenantId = assertUuid(spec.tenantId);
    const dimensions = assertDimensions(spec.dimensions);
    validateChunkOptions(spec);
    return this.#sql.begin(async (tx) => {
      const inserted = await tx<CollectionRow[]>`
        INSERT INTO rag_collections
          (tenant_id, name, embedding_provider, embedding_model, dimensions, chunk_size, chunk_overlap)
        VALUES (${tenantId}, ${spec.name}, ${spec.embeddingProvider}, ${spec.embeddingModel}, ${dimensions},
                ${spec.chunkSize}, ${spec.chunkOverlap})
        ON CONFLICT (tenant_id, name) DO NOTHING
        RETURNING *`;
      const created = inserted[0];
      if (created !== undefined) {
        // Same transaction: a concurrent creator waits on the unique key and then sees row and index.
        await tx.unsafe(collectionIndexStatement(created.id, dimensions));
        return { collection: toCollection(created), created: true };
      }
      const existing = await tx<CollectionRow[]>`
        SELECT * FROM rag_collections WHERE tenant_id = ${tenantId} AND name = ${spec.name}`;
      const row = existing[0];
      if (row === undefined) throw new Error(`collection "${spec.name}" vanished while being created`);
      return { collection: toCollection(row), created: false };
    }) as Promise<{ collection: RagCollection; created: boolean }>;
  }

  /**
   * Chunks, embeds and stores documents. Idempotent by content: a document whose content (SHA-256) is
   * already in the collection is reported `unchanged` and costs no embedding call. Embedding happens
   * outside transactions; each document and its chunks are inserted in one transaction.
   */
  async addDocuments(
    collection: RagCollection,
    documents: readonly IngestDocument[],
    options: { embedder: Embedder } & EmbedOptions,
  ): Promise<AddDocumentsResult> {
    assertEmbedderFits(collection, options.embedder);
    documents.forEach(validateDocument);
    const results: (DocumentResult | undefined)[] = new Array(documents.length);
    const hashes = documents.map((d) => contentHash(d.content));
    const known = new Map<string, { id: string; chunk_count: number }>();
    if (hashes.length > 0) {
      const rows = await this.#sql<{ id: string; content_hash: string; chunk_count: number }[]>`
        SELECT id, content_hash, chunk_count FROM rag_documents
        WHERE collection_id = ${collection.id} AND content_hash = ANY(${[...new Set(hashes)]})`;
      for (const row of rows) known.set(row.content_hash, row);
    }

    const pending: PendingDocument[] = [];
    const seen = new Map<string, number>();
    documents.forEach((doc, position) => {
      const hash = hashes[position] as string;
      const existing = known.get(hash);
      if (existing !== undefined) {
        results[position] = unchanged(existing.id, doc, existing.chunk_count);
        return;
      }
      const first = seen.get(hash);
      if (first !== undefined) return; // Same content twice in one request: resolved after the first is stored.
      seen.set(hash, position);
      const chunks = chunkText(doc.content, collection).map((c) => ({ content: c.content, index: c.index }));
      pending.push({ position, doc, hash, chunks });
    });

    let group: PendingDocument[] = [];
    let groupChunks = 0;
    const flush = async (): Promise<void> => {
      if (group.length === 0) return;
      await this.#embedAndInsert(collection, group, options, results);
      group = [];
      groupChunks = 0;
    };
    for (const item of pending) {
      if (groupChunks > 0 && groupChunks + item.chunks.length > this.#embedBatchChunks) await flush();
      group.push(item);
      groupChunks += item.chunks.length;
    }
    await flush();

    // Duplicates within the request point at the document stored for their first occurrence.
    documents.forEach((doc, position) => {
      if (results[position] !== undefined) return;
      const first = results[seen.get(hashes[position] as string) as number] as DocumentResult;
      results[position] = unchanged(first.documentId, doc, first.chunkCount);
    });
    const done = results as DocumentResult[];
    const added = done.filter((r) => r.status === 'added');
    return {
      documentsAdded: added.length,
      documentsUnchanged: done.length - added.length,
      chunksAdded: added.reduce((sum, r) => sum + r.chunkCount, 0),
      documents: done,
    };
  }

  async #embedAndInsert(
    collection: RagCollection,
    group: PendingDocument[],
    options: { embedder: Embedder } & EmbedOptions,
    results: (DocumentResult | undefined)[],
  ): Promise<void> {
    const texts = group.flatMap((item) => item.chunks.map((c) => c.content));
    const { vectors } = await options.embedder.embed(texts, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.beforeCall === undefined ? {} : { beforeCall: options.beforeCall }),
      ...(options.onCall === undefined ? {} : { onCall: options.onCall }),
      ...(options.onCallFailed === undefined ? {} : { onCallFailed: options.onCallFailed }),
    });
    if (vectors.length !== texts.length) {
      throw new Error(`embedder returned ${vectors.length} vectors for ${texts.length} chunks`);
    }
    let offset = 0;
    for (const item of group) {
      const itemVectors = vectors.slice(offset, offset + item.chunks.length);
      offset += item.chunks.length;
      options.signal?.throwIfAborted();
      results[item.position] = await this.#insertDocument(collection, item, itemVectors);
    }
  }

  async #insertDocument(
    collection: RagCollection,
    item: PendingDocument,
    vectors: number[][],
  ): Promise<DocumentResult> {
    const { doc } = item;
    const metadata = doc.metadata ?? {};
    return this.#sql.begin(async (tx) => {
      const inserted = await tx<{ id: string }[]>`
        INSERT INTO rag_documents (collection_id, tenant_id, source, title, metadata, content_hash, chunk_count)
        VALUES (${collection.id}, ${collection.tenantId}, ${doc.source ?? null}, ${doc.title ?? null},
                ${tx.json(metadata)}, ${item.hash}, ${item.chunks.length})
        ON CONFLICT (collection_id, content_hash) DO NOTHING
        RETURNING id`;
      const documentId = inserted[0]?.id;
      if (documentId === undefined) {
        // Another ingestion stored the same content meanwhile.
        const [row] = await tx<{ id: string; chunk_count: number }[]>`
          SELECT id, chunk_count FROM rag_documents
          WHERE collection_id = ${collection.id} AND content_hash = ${item.hash}`;
        return unchanged(row?.id ?? '', doc, row?.chunk_count ?? 0);
      }
      const rows = item.chunks.map((chunk, i) => ({
        document_id: documentId,
        collection_id: collection.id,
        tenant_id: collection.tenantId,
        chunk_index: chunk.index,
        content: chunk.content,
        metadata: tx.json(metadata),
        token_count: estimateTokens(chunk.content),
        embedding: vectorLiteral(vectors[i] as number[]),
      }));
      // Bounded statements: 8 parameters a row stays far below the protocol's 65,535.
      for (let i = 0; i < rows.length; i += 500) {
        await tx`INSERT INTO rag_chunks ${tx(rows.slice(i, i + 500))}`;
      }
      return {
        documentId,
        source: doc.source ?? null,
        status: 'added' as const,
        chunkCount: item.chunks.length,
      };
    }) as Promise<DocumentResult>;
  }

  /**
   * The `topK` chunks nearest to `queryVector` by cosine distance, optionally filtered by metadata
   * equality, as a CLIENT span `retrieval <collection>`.
   */
  async search(
    collection: RagCollection,
    queryVector: readonly number[],
    options: SearchOptions,
  ): Promise<SearchHit[]> {
    const dims = assertDimensions(collection.dimensions);
    if (queryVector.length !== dims) {
      throw new PermanentNodeError(
        'invalid_input',
        `query vector has ${queryVector.length} dimensions; collection "${collection.name}" has ${dims}`,
      );
    }
    const topK = options.topK;
    if (!Number.isInteger(topK) || topK < 1 || topK > 1000) {
      throw new PermanentNodeError('invalid_input', `topK must be an integer from 1 to 1000 (got ${topK})`);
    }
    const filter =
      options.filter !== undefined && Object.keys(options.filter).length > 0 ? options.filter : undefined;
    return withSpan(
      this.#tracer,
      `retrieval ${collection.name}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL,
          [ATTR_GEN_AI_DATA_SOURCE_ID]: collection.name,
          [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
          [ATTR_GEN_AI_RETRIEVAL_TOP_K]: topK,
          [FlowtraceAttributes.RAG_TOP_K]: topK,
          [FlowtraceAttributes.RAG_COLLECTION_ID]: collection.id,
          [FlowtraceAttributes.RAG_FILTERED]: filter !== undefined,
        },
      },
      async (span) => {
        const hits = await this.#query(collection, dims, vectorLiteral(queryVector), topK, filter);
        span.setAttributes({
          [FlowtraceAttributes.RAG_RESULT_COUNT]: hits.length,
          [ATTR_GEN_AI_RETRIEVAL_DOCUMENTS]: JSON.stringify(
            hits.map((h) => ({ id: h.chunkId, score: h.score })),
          ),
        });
        return hits;
      },
    );
  }

  async #query(
    collection: RagCollection,
    dims: number,
    vector: string,
    topK: number,
    filter: MetadataFilter | undefined,
  ): Promise<SearchHit[]> {
    // The collection id is inlined (validated UUID): a partial index's predicate only matches a literal,
    // and a prepared statement with a parameter there could be planned generically, without the index.
    const collectionId = assertUuid(collection.id);
    const distance = `embedding::vector(${dims}) <=> $1::vector(${dims})`;
    const text = `
      SELECT c.id, c.document_id, c.chunk_index, c.content, c.metadata, d.source, d.title, 1 - c.distance AS score
      FROM (
        SELECT id, document_id, chunk_index, content, metadata, ${distance} AS distance
        FROM rag_chunks
        WHERE collection_id = '${collectionId}' AND tenant_id = $2${filter === undefined ? '' : ' AND metadata @> $4'}
        ORDER BY ${distance}
        LIMIT $3
      ) c
      JOIN rag_documents d ON d.id = c.document_id
      ORDER BY c.distance, c.id`;
    const run = async (sql: Sql): Promise<SearchRow[]> => {
      const params: unknown[] = [vector, collection.tenantId, topK];
      if (filter !== undefined) params.push(sql.json(filter));
      return sql.unsafe<SearchRow[]>(text, params as never[]);
    };
    let rows: SearchRow[];
    if (topK <= DEFAULT_EF_SEARCH && filter === undefined) {
      rows = await run(this.#sql);
    } else {
      // An HNSW scan yields at most ef_search candidates, before the filter: widen it, and with pgvector
      // >= 0.8 keep scanning until enough rows pass the filter.
      const iterative = filter !== undefined && (await this.#supportsIterativeScan());
      rows = (await this.#sql.begin(async (tx) => {
        await tx.unsafe(
          `SET LOCAL hnsw.ef_search = ${Math.min(1000, Math.max(DEFAULT_EF_SEARCH, topK * 2))}`,
        );
        if (iterative) await tx.unsafe('SET LOCAL hnsw.iterative_scan = strict_order');
        return run(tx as unknown as Sql);
      })) as SearchRow[];
    }
    return rows.map((r) => ({
      chunkId: r.id,
      documentId: r.document_id,
      chunkIndex: r.chunk_index,
      content: r.content,
      metadata: r.metadata,
      source: r.source,
      title: r.title,
      score: Number(r.score),
    }));
  }

  #supportsIterativeScan(): Promise<boolean> {
    this.#iterativeScan ??= this.#sql<{ extversion: string }[]>`
      SELECT extversion FROM pg_extension WHERE extname = 'vector'`.then(([row]) => {
      const [major = 0, minor = 0] = (row?.extversion ?? '0.0').split('.').map(Number);
      return major > 0 || minor >= 8;
    });
    return this.#iterativeScan;
  }
}

interface SearchRow {
  id: string;
  document_id: string;
  chunk_index: number;
  content: string;
  metadata: DocumentMetadata;
  source: string | null;
  title: string | null;
  score: number | string;
}

function toCollection(row: CollectionRow): RagCollection {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    embeddingProvider: row.embedding_provider,
    embeddingModel: row.embedding_model,
    dimensions: row.dimensions,
    chunkSize: row.chunk_size,
    chunkOverlap: row.chunk_overlap,
    createdAt: row.created_at,
  };
}

function unchanged(documentId: string, doc: IngestDocument, chunkCount: number): DocumentResult {
  return { documentId, source: doc.source ?? null, status: 'unchanged', chunkCount };
}

/** SHA-256 (hex) of the content with line endings normalised. */
export function contentHash(content: string): string {
  return createHash('sha256').update(content.replace(/\r\n?/g, '\n')).digest('hex');
}

function vectorLiteral(vector: readonly number[]): string {
  for (const v of vector) {
    if (!Number.isFinite(v)) throw new Error('embedding contains a non-finite value');
  }
  return `[${vector.join(',')}]`;
}

function assertEmbedderFits(collection: RagCollection, embedder: Embedder): void {
  if (
    embedder.provider !== collection.embeddingProvider ||
    embedder.model !== collection.embeddingModel ||
    embedder.dimensions !== collection.dimensions
  ) {
    throw new PermanentNodeError(
      'invalid_input',
      `collection "${collection.name}" is embedded with ${collection.embeddingProvider}/${collection.embeddingModel} (${collection.dimensions} dimensions); got ${embedder.provider}/${embedder.model} (${embedder.dimensions})`,
    );
  }
}

function validateDocument(doc: IngestDocument, position: number): void {
  if (typeof doc.content !== 'string' || doc.content.trim() === '') {
    throw new PermanentNodeError('invalid_input', `document ${position} has no text content`);
  }
  const m = doc.metadata;
  if (m !== undefined && (m === null || typeof m !== 'object' || Array.isArray(m))) {
    throw new PermanentNodeError('invalid_input', `document ${position}: metadata must be a JSON object`);
  }
}
