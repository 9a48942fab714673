import {
  type JsonValue,
  type NodeExecutionContext,
  type NodeExecutor,
  PermanentNodeError,
  renderTemplate,
} from '@flowtrace/workflow';
import { templateScope } from '../connector/template-scope.ts';
import type { EmbedderRegistry } from './embedder.ts';
import type { EmbeddingPricing } from './embedding-cost.ts';
import { retrieve } from './retrieve.ts';
import type { VectorStore } from './vector-store.ts';

export interface RagExecutorDeps {
  store: VectorStore;
  embedders: EmbedderRegistry;
  /** Cost of query embeddings in `model_cost_logs`; without it costs are recorded as null. */
  pricing?: EmbeddingPricing;
}

/**
 * The `rag` node: renders the query template, embeds it with the collection's own embedder (one
 * `embeddings <model>` span and one model-cost record), and returns the `topK` nearest chunks (a
 * `retrieval <collection>` span): `{ collection, query, chunks: [{ content, score, metadata, documentId,
 * source }] }`. An unknown collection fails permanently with `not_found`.
 */
export function createRagExecutor(deps: RagExecutorDeps): NodeExecutor<'rag'> {
  return {
    type: 'rag',
    async execute(ctx: NodeExecutionContext<'rag'>) {
      const { config } = ctx;
      const where = { nodeId: ctx.nodeId };
      const query = renderTemplate(config.query, templateScope(ctx), where).trim();
      if (query === '') {
        throw new PermanentNodeError('invalid_input', 'the rendered query is empty', where);
      }
      const { collection, hits } = await retrieve(deps, {
        tenantId: ctx.tenantId,
        collection: config.collection,
        query,
        topK: config.topK,
        filter: config.filter,
        signal: ctx.signal,
        ledger: ctx.ledger,
        nodeId: ctx.nodeId,
      });
      ctx.logger.debug(
        { collection: collection.name, topK: config.topK, results: hits.length },
        'rag retrieval completed',
      );
      const chunks: JsonValue[] = hits.map((h) => ({
        content: h.content,
        score: h.score,
        metadata: h.metadata,
        documentId: h.documentId,
        source: h.source,
      }));
      return { collection: collection.name, query, chunks };
    },
  };
}
