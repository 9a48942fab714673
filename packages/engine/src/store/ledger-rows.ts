import type { Transaction } from '@flowtrace/db';
import type { LedgerEntries } from './types.ts';

interface NodeAttemptKey {
  runId: string;
  tenantId: string;
  nodeId: string;
  attempt: number;
}

/** An attempt's model calls as `model_cost_logs` rows (natural key: run, node, attempt, call index). */
export function modelCallRows(key: NodeAttemptKey, ledger: LedgerEntries) {
  return ledger.modelCalls.map(({ record, traceId, spanId }, index) => ({
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
}

/** An attempt's agent steps as `agent_trace_history` rows (natural key: run, node, attempt, step). */
export function agentStepRows(key: NodeAttemptKey, ledger: LedgerEntries) {
  return ledger.agentSteps.map(({ record, traceId, spanId }) => ({
    run_id: key.runId,
    tenant_id: key.tenantId,
    node_id: key.nodeId,
    attempt: key.attempt,
    step: record.step,
    thought: record.thought,
    tool_name: record.toolName,
    tool_call_id: record.toolCallId,
    tool_input: record.toolInput,
    observation: record.observation,
    is_error: record.isError,
    input_tokens: record.inputTokens,
    output_tokens: record.outputTokens,
    trace_id: traceId,
    span_id: spanId,
  }));
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
  const calls = modelCallRows(key, ledger);
  if (calls.length > 0) await tx`insert into model_cost_logs ${tx(calls)} on conflict do nothing`;
  const steps = agentStepRows(key, ledger).map((row) => ({
    ...row,
    tool_input: row.tool_input === null ? null : tx.json(row.tool_input),
    observation: row.observation === null ? null : tx.json(row.observation),
  }));
  if (steps.length > 0) await tx`insert into agent_trace_history ${tx(steps)} on conflict do nothing`;
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

/** Lifecycle events as `event_logs` rows; the dedupe key makes each (type, node, attempt) appear once. */
export function eventRows(events: readonly EventRow[]) {
  return events.map((e) => ({
    run_id: e.runId,
    tenant_id: e.tenantId,
    node_id: e.nodeId,
    attempt: e.attempt,
    type: e.type,
    message: e.message ?? null,
    data: e.data === undefined ? null : e.data,
    dedupe_key: [e.type, e.nodeId ?? '', e.attempt ?? ''].join(':'),
    trace_id: e.traceId,
    span_id: e.spanId,
  }));
}

export async function insertEvents(tx: Transaction, events: EventRow[]): Promise<void> {
  if (events.length === 0) return;
  const rows = eventRows(events).map((row) => ({
    ...row,
    data: row.data === null ? null : tx.json(row.data as never),
  }));
  await tx`insert into event_logs ${tx(rows)} on conflict do nothing`;
}
