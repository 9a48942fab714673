import type { Transaction } from '@flowtrace/db';
import { type ModelCallRecord, toStorableText } from '@flowtrace/workflow';
import type { LedgerEntries } from './types.ts';

interface NodeAttemptKey {
  runId: string;
  tenantId: string;
  nodeId: string;
  attempt: number;
}

const INT4_MAX = 2_147_483_647;

/**
 * A count for an `integer` column. Token counts and latencies come from providers: a value that is not a
 * non-negative integer within range would fail the whole outcome write (and re-execute the node), so it
 * is rounded and clamped instead.
 */
function int4(value: number): number {
  if (!Number.isFinite(value)) return value > 0 ? INT4_MAX : 0;
  return Math.min(INT4_MAX, Math.max(0, Math.round(value)));
}

type ModelCallFields = Pick<
  ModelCallRecord,
  'provider' | 'operation' | 'requestModel' | 'inputTokens' | 'outputTokens' | 'costUsd'
> &
  Partial<ModelCallRecord>;

const storableOrNull = (text: string | null | undefined) =>
  text === undefined || text === null ? text : toStorableText(text);

/**
 * A model call as `model_cost_logs` can store it. Ids, model names and finish reasons come from the
 * provider's reply, and Postgres refuses U+0000 in `text` (and a count outside `integer`): repaired here,
 * so that writing an answered call never fails. Every writer of the table goes through this.
 */
export function storableModelCall<T extends ModelCallFields>(call: T): T {
  return {
    ...call,
    provider: toStorableText(call.provider),
    requestModel: toStorableText(call.requestModel),
    responseModel: storableOrNull(call.responseModel),
    responseId: storableOrNull(call.responseId),
    pricingVersion: storableOrNull(call.pricingVersion),
    finishReason: storableOrNull(call.finishReason),
    inputTokens: int4(call.inputTokens),
    outputTokens: int4(call.outputTokens),
    ...(call.cachedInputTokens === undefined ? {} : { cachedInputTokens: int4(call.cachedInputTokens) }),
    ...(call.reasoningTokens === undefined ? {} : { reasoningTokens: int4(call.reasoningTokens) }),
    ...(call.latencyMs === undefined ? {} : { latencyMs: int4(call.latencyMs) }),
    costUsd: call.costUsd === null || !Number.isFinite(call.costUsd) ? null : call.costUsd,
  };
}

/** An attempt's model calls as `model_cost_logs` rows (natural key: run, node, attempt, call index). */
export function modelCallRows(key: NodeAttemptKey, ledger: LedgerEntries) {
  // Calls the spend ledger has written already are left alone (see `Correlated.written`).
  return ledger.modelCalls
    .filter((call) => !call.written)
    .map(({ record, traceId, spanId }, index) => ({
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
      input_tokens: int4(record.inputTokens),
      output_tokens: int4(record.outputTokens),
      cached_input_tokens: int4(record.cachedInputTokens),
      reasoning_tokens: int4(record.reasoningTokens),
      cost_usd:
        record.costUsd === null || !Number.isFinite(record.costUsd) ? null : record.costUsd.toFixed(10),
      pricing_version: record.pricingVersion,
      latency_ms: int4(record.latencyMs),
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
    step: int4(record.step),
    thought: record.thought,
    tool_name: record.toolName,
    tool_call_id: record.toolCallId,
    tool_input: record.toolInput,
    observation: record.observation,
    is_error: record.isError,
    input_tokens: int4(record.inputTokens),
    output_tokens: int4(record.outputTokens),
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

/**
 * Locks the run's row for the rest of the transaction. Every writer of a run's events takes this lock
 * before any node row (so that writers cannot deadlock) and keeps it until it commits, which makes the
 * `seq` numbers it assigns (`insertEvents`) commit in order.
 */
export async function lockRunForEvents(tx: Transaction, runId: string): Promise<string | null> {
  const [run] = await tx<{ status: string }[]>`select status from runs where id = ${runId} for no key update`;
  return run?.status ?? null;
}

/**
 * Writes one run's events with the next `seq` numbers of the run, in the order given. The transaction
 * must hold the run's row lock (`lockRunForEvents`, or an earlier update of the run): events already
 * recorded (same dedupe key) are left out before numbering, so the numbers have no gaps.
 */
export async function insertEvents(tx: Transaction, events: EventRow[]): Promise<void> {
  if (events.length === 0) return;
  const runId = events[0]?.runId as string;
  if (events.some((e) => e.runId !== runId)) throw new Error('insertEvents: events of one run at a time');
  const rows = eventRows(events).map((row, index) => ({ ...row, ord: index }));
  await tx`
    with fresh as (
      select e.*, row_number() over (order by e.ord) as n
      from jsonb_to_recordset(${tx.json(rows as never)}) as e(run_id uuid, tenant_id uuid, node_id text,
        attempt int, type text, message text, data jsonb, dedupe_key text, trace_id text, span_id text, ord int)
      where not exists (select 1 from event_logs x where x.run_id = e.run_id and x.dedupe_key = e.dedupe_key)
    ),
    numbered as (
      update runs set event_seq = event_seq + (select count(*) from fresh)
      where id = ${runId} returning event_seq - (select count(*) from fresh) as base
    )
    insert into event_logs (run_id, tenant_id, node_id, attempt, type, message, data, dedupe_key, trace_id,
                            span_id, seq)
    select f.run_id, f.tenant_id, f.node_id, f.attempt, f.type, f.message, f.data, f.dedupe_key, f.trace_id,
           f.span_id, b.base + f.n
    from fresh f cross join numbered b
    on conflict do nothing`;
}
