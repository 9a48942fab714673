import { createHash } from 'node:crypto';
import { type Sql, transaction } from '@flowtrace/db';
import { type JsonValue, PermanentNodeError } from '@flowtrace/workflow';
import { chunkText, estimateTokens } from './chunker.ts';
import type { Embedder, EmbedOptions } from './embedder.ts';
import type { RagCollection } from './rag-collections.ts';
import { vectorLiteral } from './vector-literal.ts';

export type DocumentMetadata = Record<string, JsonValue>;

export interface IngestDocument {
  content: string;
  source?: string | undefined;
  title?: string | undefined;
  /** Copied onto every chunk, where `filter` matches it. */
  metadata?: DocumentMetadata | undefined;
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

export interface AddDocumentsDeps {
  sql: Sql;
  /** Chunks embedded per `embed` call (the embedder batches its requests below that). */
  embedBatchChunks: number;
}

interface PendingDocument {
  position: number;
  doc: IngestDocument;
  hash: string;
  chunks: { content: string; index: number }[];
}

/**
 * Chunks, embeds and stores documents. Idempotent by content: a document whose content (SHA-256) is
 * already in the collection is reported `unchanged` and costs no embedding call. Embedding happens
 * outside transactions; each document and its chunks are inserted in one transaction.
 */
export async function addDocuments(
  deps: AddDocumentsDeps,
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
    const rows = await deps.sql<{ id: string; content_hash: string; chunk_count: number }[]>`
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
    await embedAndInsert(deps.sql, collection, group, options, results);
    group = [];
    groupChunks = 0;
  };
  for (const item of pending) {
    if (groupChunks > 0 && groupChunks + item.chunks.length > deps.embedBatchChunks) await flush();
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

async function embedAndInsert(
  sql: Sql,
  collection: RagCollection,
  group: PendingDocument[],
  options: { embedder: Embedder } & EmbedOptions,
  results: (DocumentResult | undefined)[],
): Promise<void> {
  const texts = group.flatMap((item) => item.chunks.map((c) => c.content));
  const { vectors } = await options.embedder.embed(texts, {
    signal: options.signal,
    beforeCall: options.beforeCall,
    onCall: options.onCall,
    onCallFailed: options.onCallFailed,
  });
  if (vectors.length !== texts.length) {
    throw new Error(`embedder returned ${vectors.length} vectors for ${texts.length} chunks`);
  }
  let offset = 0;
  for (const item of group) {
    const itemVectors = vectors.slice(offset, offset + item.chunks.length);
    offset += item.chunks.length;
    options.signal?.throwIfAborted();
    results[item.position] = await insertDocument(sql, collection, item, itemVectors);
  }
}

async function insertDocument(
  sql: Sql,
  collection: RagCollection,
  item: PendingDocument,
  vectors: number[][],
): Promise<DocumentResult> {
  const { doc } = item;
  const metadata = doc.metadata ?? {};
  return transaction(sql, async (tx) => {
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

function unchanged(documentId: string, doc: IngestDocument, chunkCount: number): DocumentResult {
  return { documentId, source: doc.source ?? null, status: 'unchanged', chunkCount };
}

/** SHA-256 (hex) of the content with line endings normalised. */
export function contentHash(content: string): string {
  return createHash('sha256').update(content.replace(/\r\n?/g, '\n')).digest('hex');
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
