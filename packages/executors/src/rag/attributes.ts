/**
 * Span attribute names the RAG code emits beyond those in the package's `semconv.ts`. The GenAI ones
 * are copied from the GenAI semantic conventions (Development status): `gen_ai.embeddings.dimension.count`
 * (semconv 1.45) and `gen_ai.retrieval.top_k` (semantic-conventions-genai 0.1, which moved retrieval's
 * top-k off `gen_ai.request.top_k`). The rest are ours, under `flowtrace.`.
 */
export const RAG_ATTRIBUTES = {
  embeddingsDimensionCount: 'gen_ai.embeddings.dimension.count',
  retrievalTopK: 'gen_ai.retrieval.top_k',
  /** Number of texts in one embeddings request. */
  embeddingsInputCount: 'flowtrace.embeddings.input_count',
  /** Requested top-k (same value as `gen_ai.retrieval.top_k`, under the project namespace the brief names). */
  topK: 'flowtrace.rag.top_k',
  resultCount: 'flowtrace.rag.result_count',
  collectionId: 'flowtrace.rag.collection_id',
  /** Whether a metadata filter narrowed the search. */
  filtered: 'flowtrace.rag.filtered',
  documentsAdded: 'flowtrace.rag.documents_added',
  documentsUnchanged: 'flowtrace.rag.documents_unchanged',
  chunksAdded: 'flowtrace.rag.chunks_added',
  /** JSON `[{ "id": <chunk id>, "score": <similarity> }]`, ids and scores only, never content. */
  retrievalDocuments: 'gen_ai.retrieval.documents',
} as const;
