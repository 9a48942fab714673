import type {
  ExecutionLedger,
  ModelCallEstimate,
  ModelCallRecord,
  ModelCallReservation,
} from '@flowtrace/workflow';
import type { EmbeddingCall, EmbedOptions } from './embedder.ts';
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

/** An embeddings request's estimate: about four characters per input token, priced like its record. */
export function estimateEmbedding(
  texts: readonly string[],
  embedder: { provider: string; model: string },
  pricing: EmbeddingPricing | undefined,
): ModelCallEstimate {
  const inputTokens = texts.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
  const costUsd =
    embedder.provider === OFFLINE_EMBEDDER_PROVIDER
      ? 0
      : (pricing?.computeCost(embedder.provider, [embedder.model], { inputTokens, outputTokens: 0 })
          .costUsd ?? null);
  return {
    provider: embedder.provider,
    operation: 'embeddings',
    requestModel: embedder.model,
    inputTokens,
    outputTokens: 0,
    costUsd,
  };
}

/**
 * The embed hooks that put an embedder's requests on a ledger: each request reserves its estimate first
 * (and is not made when a budget refuses it), then records its usage, or ends its reservation when it got
 * no answer. Requests of one `embed` call run one after another, so one pending reservation suffices.
 */
export function ledgerEmbedHooks(
  ledger: Pick<ExecutionLedger, 'recordModelCall' | 'reserveModelCall' | 'releaseModelCall'>,
  embedder: { provider: string; model: string },
  pricing: EmbeddingPricing | undefined,
): Pick<EmbedOptions, 'beforeCall' | 'onCall' | 'onCallFailed'> {
  let pending: ModelCallReservation | null = null;
  return {
    beforeCall: async (texts) => {
      if (ledger.reserveModelCall)
        pending = await ledger.reserveModelCall(estimateEmbedding(texts, embedder, pricing));
    },
    onCall: async (call) => {
      const reservation = pending;
      pending = null;
      await ledger.recordModelCall(embeddingCallRecord(call, pricing), reservation);
    },
    onCallFailed: async (aborted) => {
      const reservation = pending;
      pending = null;
      if (reservation !== null && ledger.releaseModelCall) {
        await ledger.releaseModelCall(reservation, aborted ? 'abandoned' : 'failed');
      }
    },
  };
}
