import type { ModelCallRecord } from '@flowtrace/workflow';
import type { EmbeddingCall } from './embedder.ts';
import { OFFLINE_EMBEDDER_PROVIDER } from './offline-embedder.ts';

/** Prices an embeddings call; the llm folder's `PricingTable` fits. */
export interface EmbeddingPricing {
  computeCost(
    provider: string,
    model: readonly (string | null | undefined)[],
    usage: { inputTokens: number; outputTokens: number },
  ): { costUsd: number | null; pricingVersion: string };
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
