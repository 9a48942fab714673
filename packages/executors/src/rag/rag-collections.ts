import { type Sql, transaction } from '@flowtrace/db';
import { validateChunkOptions } from './chunker.ts';
import { assertDimensions, assertUuid, collectionIndexStatement } from './vector-ddl.ts';

/** What a new collection is made of: its name, its embedder, and how its documents are chunked. */
export interface CollectionSpec {
  tenantId: string;
  name: string;
  embeddingProvider: string;
  embeddingModel: string;
  dimensions: number;
  chunkSize: number;
  chunkOverlap: number;
}

export interface RagCollection extends CollectionSpec {
  id: string;
  createdAt: Date;
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

/** The tenant's collection of that name, or null. A tenant never sees another tenant's collection. */
export async function getCollection(sql: Sql, tenantId: string, name: string): Promise<RagCollection | null> {
  const rows = await sql<CollectionRow[]>`
    SELECT * FROM rag_collections WHERE tenant_id = ${assertUuid(tenantId)} AND name = ${name}`;
  const row = rows[0];
  return row === undefined ? null : toCollection(row);
}

/**
 * Returns the tenant's collection, creating it (row and HNSW index, in one transaction) when it does not
 * exist. An existing collection is returned as it is, whatever embedder `spec` names; callers compare.
 */
export async function ensureCollection(
  sql: Sql,
  spec: CollectionSpec,
): Promise<{ collection: RagCollection; created: boolean }> {
  const tenantId = assertUuid(spec.tenantId);
  const dimensions = assertDimensions(spec.dimensions);
  validateChunkOptions(spec);
  return transaction(sql, async (tx) => {
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
