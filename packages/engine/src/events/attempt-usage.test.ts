import type { ModelCallRecord } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { attemptUsage } from './attempt-usage.ts';

const call = (inputTokens: number, outputTokens: number, costUsd: number | null): ModelCallRecord => ({
  provider: 'simulated',
  operation: 'chat',
  requestModel: 'sim',
  responseModel: 'sim',
  responseId: null,
  inputTokens,
  outputTokens,
  cachedInputTokens: 0,
  reasoningTokens: 0,
  costUsd,
  pricingVersion: null,
  latencyMs: 1,
  finishReason: 'stop',
});
const ledger = (...calls: ModelCallRecord[]) => ({
  modelCalls: calls.map((record) => ({ record, traceId: 't', spanId: 's' })),
  agentSteps: [],
});

describe('attemptUsage', () => {
  it('sums tokens and the cost of priced calls', () => {
    expect(attemptUsage(ledger(call(10, 5, 0.25), call(3, 2, null), call(1, 1, 0.5)))).toEqual({
      modelCalls: 3,
      inputTokens: 14,
      outputTokens: 8,
      costUsd: 0.75,
    });
  });

  it('reports a zero cost without calls and an unknown cost when no call was priced', () => {
    expect(attemptUsage(ledger())).toEqual({ modelCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
    expect(attemptUsage(ledger(call(4, 4, null))).costUsd).toBeNull();
  });
});
