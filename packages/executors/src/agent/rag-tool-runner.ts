import { ATTR_GEN_AI_DATA_SOURCE_ID } from '@flowtrace/telemetry/semconv';
import { PermanentNodeError, type RagTool } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import type { EmbedderRegistry } from '../rag/embedder.ts';
import type { EmbeddingPricing } from '../rag/embedding-cost.ts';
import { retrieve } from '../rag/retrieve.ts';
import type { VectorStore } from '../rag/vector-store.ts';
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
      const { collection, hits } = await retrieve(deps, {
        tenantId: ctx.tenantId,
        collection: tool.collection,
        query,
        topK: tool.topK,
        signal: ctx.signal,
        ledger: ctx.ledger,
        nodeId: ctx.nodeId,
      });
      return {
        collection: collection.name,
        chunks: hits.map((h) => ({ content: h.content, score: h.score, source: h.source, title: h.title })),
      };
    },
  };
}
