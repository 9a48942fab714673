import type { LedgerEntries } from '../store/types.ts';

/** Model usage of one node attempt, as carried by its lifecycle event (`data.usage`). */
export interface AttemptUsage {
  modelCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** USD of the priced calls; null when the attempt made calls and none had a price. */
  costUsd: number | null;
}

/** Sums an attempt's model calls, so that a live reader sees tokens and cost per node as they happen. */
export function attemptUsage(ledger: LedgerEntries): AttemptUsage {
  let inputTokens = 0;
  let outputTokens = 0;
  let costUsd: number | null = null;
  for (const { record } of ledger.modelCalls) {
    inputTokens += record.inputTokens;
    outputTokens += record.outputTokens;
    if (record.costUsd !== null) costUsd = (costUsd ?? 0) + record.costUsd;
  }
  const modelCalls = ledger.modelCalls.length;
  return { modelCalls, inputTokens, outputTokens, costUsd: modelCalls === 0 ? 0 : costUsd };
}
