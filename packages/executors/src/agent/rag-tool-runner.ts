import { PermanentNodeError, type RagTool } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import type { EmbedderRegistry } from '../rag/embedder.ts';
import { type EmbeddingPricing, embeddingCallRecord } from '../rag/rag-executor.ts';
import type { VectorStore } from '../rag/vector-store.ts';
import { ATTR_GEN_AI_DATA_SOURCE_ID } from '../semconv.ts';
import type { AgentToolRunner } from './tool-runner.ts';

export interface RagToolRunnerDeps {
  store: VectorStore;
  embedders: EmbedderRegistry;
  /** Prices the query embedding in `model_cost_logs`; without it its cost is recorded as null. */
  pricing?: EmbeddingPricing | undefined;
}

/**
 * The `rag` tool: embeds the model's `query` argument with the collection's own embedder (an
 * `embeddings <model>` span and a model-call record) and returns the tool's `topK` nearest chunks of
 * the tenant's collection (a `retrieval <collection>` span): `{ collection, chunks: [{ content, score,
 * source, title }] }`. A missing collection or an empty query is a tool error.
 */
export function createRagToolRunner(deps: RagToolRunnerDeps): AgentToolRunner<RagTool> {
  return {
    async run(tool, args, ctx) {
      const where = { nodeId: ctx.nodeId };
      const query = typeof args.query === 'string' ? args.query.trim() : '';
      if (query === '') {
        throw new PermanentNodeError('invalid_input', 'argument "query" must be a non-empty string', where);
      }
      trace.getActiveSpan()?.setAttribute(ATTR_GEN_AI_DATA_SOURCE_ID, tool.collection);
      const collection = await deps.store.getCollection(ctx.tenantId, tool.collection);
      if (collection === null) {
        throw new PermanentNodeError('not_found', `collection "${tool.collection}" does not exist`, {
          ...where,
          details: { collection: tool.collection },
        });
      }
      const embedder = deps.embedders.require(
        collection.embeddingProvider,
        collection.embeddingModel,
        collection.name,
      );
      const { vectors } = await embedder.embed([query], {
        signal: ctx.signal,
        onCall: (call) => ctx.ledger.recordModelCall(embeddingCallRecord(call, deps.pricing)),
      });
      const vector = vectors[0];
      if (vector === undefined) throw new Error('the embedder returned no vector for the query');
      ctx.signal.throwIfAborted();
      const hits = await deps.store.search(collection, vector, { topK: tool.topK });
      return {
        collection: collection.name,
        chunks: hits.map((h) => ({ content: h.content, score: h.score, source: h.source, title: h.title })),
      };
    },
  };
}
