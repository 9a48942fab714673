import { type ExecutionLedger, PermanentNodeError } from '@flowtrace/workflow';
import type { MetadataFilter, SearchHit } from './chunk-search.ts';
import type { EmbedderRegistry } from './embedder.ts';
import { type EmbeddingPricing, ledgerEmbedHooks } from './embedding-cost.ts';
import type { RagCollection } from './rag-collections.ts';
import type { VectorStore } from './vector-store.ts';

export interface RetrieveDeps {
  store: VectorStore;
  embedders: EmbedderRegistry;
  pricing?: EmbeddingPricing | undefined;
}

/**
 * Top-k retrieval from one of the tenant's collections: embeds the query with the embedder the collection
 * was built with (an `embeddings <model>` span and a model-call record) and searches it (a
 * `retrieval <collection>` span). The rag node and the agent's rag tool both use it. A missing collection
 * is `not_found`, naming how to create it.
 */
export async function retrieve(
  deps: RetrieveDeps,
  request: {
    tenantId: string;
    collection: string;
    query: string;
    topK: number;
    filter?: MetadataFilter | undefined;
    signal: AbortSignal;
    ledger: Pick<ExecutionLedger, 'recordModelCall' | 'reserveModelCall' | 'releaseModelCall'>;
    nodeId: string;
  },
): Promise<{ collection: RagCollection; hits: SearchHit[] }> {
  const collection = await deps.store.getCollection(request.tenantId, request.collection);
  if (collection === null) {
    throw new PermanentNodeError(
      'not_found',
      `collection "${request.collection}" does not exist for this tenant; ingest documents into it first (POST /v1/collections/${request.collection}/documents)`,
      { nodeId: request.nodeId, details: { collection: request.collection } },
    );
  }
  const embedder = deps.embedders.require(
    collection.embeddingProvider,
    collection.embeddingModel,
    collection.name,
  );
  const { vectors } = await embedder.embed([request.query], {
    signal: request.signal,
    ...ledgerEmbedHooks(request.ledger, embedder, deps.pricing),
  });
  const vector = vectors[0];
  if (vector === undefined) throw new Error('the embedder returned no vector for the query');
  request.signal.throwIfAborted();
  const hits = await deps.store.search(collection, vector, { topK: request.topK, filter: request.filter });
  return { collection, hits };
}
