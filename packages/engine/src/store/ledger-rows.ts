import type { Transaction } from '@flowtrace/db';
import type { LedgerEntries } from './types.ts';

interface NodeAttemptKey {
  runId: string;
  tenantId: string;
  nodeId: string;
  attempt: number;
}

/**
 * Writes an attempt's model calls and agent steps. The natural key (run, node, attempt, index) makes a
 * repeated write of the same attempt a no-op, so a re-driven node never records a call twice.
 */
export async function insertLedgerRows(
  tx: Transaction,
  key: NodeAttemptKey,
  ledger: LedgerEntries,
): Promise<void> {
  if (ledger.modelCalls.length > 0) {
    const rows = ledger.modelCalls.map(({ record, traceId, spanId }, index) => ({
      run_id: key.runId,
      tenant_id: key.tenantId,
      node_id: key.nodeId,
      attempt: key.attempt,
      call_index: index,
      operation: record.operation,
      provider: record.provider,
      request_model: record.requestModel,
      response_model: record.responseModel,
      response_id: record.responseId,
      input_tokens: record.inputTokens,
      output_tokens: record.outputTokens,
      cached_input_tokens: record.cachedInputTokens,
      reasoning_tokens: record.reasoningTokens,
      cost_usd: record.costUsd === null ? null : record.costUsd.toFixed(10),
      pricing_version: record.pricingVersion,
      latency_ms: Math.round(record.latencyMs),
      finish_reason: record.finishReason,
      trace_id: traceId,
      span_id: spanId,
    }));
    await tx`insert into model_cost_logs ${tx(rows)} on conflict do nothing`;
  }
  if (ledger.agentSteps.length > 0) {
    const rows = ledger.agentSteps.map(({ record, traceId, spanId }) => ({
      run_id: key.runId,
      tenant_id: key.tenantId,
      node_id: key.nodeId,
      attempt: key.attempt,
      step: record.step,
      thought: record.thought,
      tool_name: record.toolName,
      tool_call_id: record.toolCallId,
      tool_input: record.toolInput === null ? null : tx.json(record.toolInput),
      observation: record.observation === null ? null : tx.json(record.observation),
      is_error: record.isError,
      input_tokens: record.inputTokens,
      output_tokens: record.outputTokens,
      trace_id: traceId,
      span_id: spanId,
    }));
    await tx`insert into agent_trace_history ${tx(rows)} on conflict do nothing`;
  }
}

export interface EventRow {
  runId: string;
  tenantId: string;
  nodeId: string | null;
  attempt: number | null;
  type: string;
  message?: string;
  data?: unknown;
  traceId: string;
  spanId: string | null;
}

/** Writes lifecycle events; the dedupe key makes each (type, node, attempt) appear once. */
export async function insertEvents(tx: Transaction, events: EventRow[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e) => ({
    run_id: e.runId,
    tenant_id: e.tenantId,
    node_id: e.nodeId,
    attempt: e.attempt,
    type: e.type,
    message: e.message ?? null,
    data: e.data === undefined ? null : tx.json(e.data as never),
    dedupe_key: [e.type, e.nodeId ?? '', e.attempt ?? ''].join(':'),
    trace_id: e.traceId,
    span_id: e.spanId,
  }));
  await tx`insert into event_logs ${tx(rows)} on conflict do nothing`;
}
