import {
  type JsonValue,
  type ModelCallRecord,
  type NodeExecutionContext,
  type NodeExecutor,
  PermanentNodeError,
  renderTemplate,
} from '@flowtrace/workflow';
import { templateScope } from '../connector/template-scope.ts';
import type { EmbedderRegistry, EmbeddingCall } from './embedder.ts';
import { OFFLINE_EMBEDDER_PROVIDER } from './offline-embedder.ts';
import { retrieve } from './retrieve.ts';
import type { VectorStore } from './vector-store.ts';

/** Prices an embeddings call; the llm folder's `PricingTable` fits. */
export interface EmbeddingPricing {
  computeCost(
    provider: string,
    model: readonly (string | null | undefined)[],
    usage: { inputTokens: number; outputTokens: number },
  ): { costUsd: number | null; pricingVersion: string };
}

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

/** The `model_cost_logs` record of one embeddings request (the rag executor's and the agent's rag tool). */
export function embeddingCallRecord(
  call: EmbeddingCall,
  pricing: EmbeddingPricing | undefined,
): ModelCallRecord {
  // The offline embedder costs nothing; it is not a model anyone bills for.
  const cost =
    call.provider === OFFLINE_EMBEDDER_PROVIDER
      ? { costUsd: 0, pricingVersion: null }
      : (pricing?.computeCost(call.provider, [call.responseModel, call.requestModel], {
          inputTokens: call.inputTokens,
          outputTokens: 0,
        }) ?? { costUsd: null, pricingVersion: null });
  return {
    provider: call.provider,
    operation: 'embeddings',
    requestModel: call.requestModel,
    responseModel: call.responseModel,
    responseId: null,
    inputTokens: call.inputTokens,
    outputTokens: 0,
    cachedInputTokens: 0,
    reasoningTokens: 0,
    costUsd: cost.costUsd,
    pricingVersion: cost.pricingVersion,
    latencyMs: call.latencyMs,
    finishReason: null,
  };
}
