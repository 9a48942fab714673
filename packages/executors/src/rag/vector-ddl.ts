const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The name of a collection's HNSW index: `rag_chunks_hnsw_<id without dashes>` (48 characters). */
export function collectionIndexName(collectionId: string): string {
  return `rag_chunks_hnsw_${assertUuid(collectionId).replaceAll('-', '')}`;
}

/**
 * A collection's HNSW index: a partial expression index on the embedding cast to the collection's
 * dimension, for cosine distance. The collection id and dimension are inlined (validated here) because
 * DDL takes no parameters and because the planner only matches a partial index's predicate against a
 * literal in the query.
 */
export function collectionIndexStatement(collectionId: string, dimensions: number): string {
  const dims = assertDimensions(dimensions);
  return `CREATE INDEX IF NOT EXISTS ${collectionIndexName(collectionId)} ON rag_chunks USING hnsw ((embedding::vector(${dims})) vector_cosine_ops) WHERE collection_id = '${assertUuid(collectionId)}'`;
}

export function assertUuid(value: string): string {
  const lower = value.toLowerCase();
  if (!UUID.test(lower)) throw new Error(`"${value}" is not a UUID`);
  return lower;
}

/** pgvector indexes up to 2,000 dimensions for `vector`. */
export function assertDimensions(dimensions: number): number {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 2000) {
    throw new Error(`embedding dimensions must be an integer from 1 to 2000 (got ${dimensions})`);
  }
  return dimensions;
}
