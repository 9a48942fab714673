import { type Sql, transaction } from '@flowtrace/db';
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
import { PermanentNodeError } from '@flowtrace/workflow';
import { SpanKind, type Tracer } from '@opentelemetry/api';
import type { DocumentMetadata } from './add-documents.ts';
import type { RagCollection } from './rag-collections.ts';
import { assertDimensions, assertUuid } from './vector-ddl.ts';
import { vectorLiteral } from './vector-literal.ts';

/** Equality on chunk metadata keys (`metadata @> filter`). */
export type MetadataFilter = Record<string, string | number | boolean>;

export interface SearchOptions {
  topK: number;
  filter?: MetadataFilter | undefined;
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

/** pgvector's default `hnsw.ef_search`; an HNSW scan returns at most this many rows unless raised. */
const DEFAULT_EF_SEARCH = 40;

/**
 * Nearest-neighbour search over a collection's chunks, through the collection's partial HNSW index (the
 * query repeats its `embedding::vector(<dims>)` cast and a literal `collection_id` predicate so that the
 * planner can pick it). Remembers whether the server's pgvector supports iterative scans.
 */
export class ChunkSearch {
  readonly #sql: Sql;
  readonly #tracer: Tracer;
  #iterativeScan: Promise<boolean> | undefined;

  constructor(deps: { sql: Sql; tracer: Tracer }) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
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
      rows = (await transaction(this.#sql, async (tx) => {
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
