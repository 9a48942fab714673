import type { Sql } from '@flowtrace/db';
import type { TraceCarrier } from '@flowtrace/telemetry';
import { attemptUsage } from '../events/attempt-usage.ts';
import { type FinishedRunRow, toFinishedRun } from './finished-run.ts';
import { agentStepRows, type EventRow, eventRows, modelCallRows } from './ledger-rows.ts';
import { type AttemptOutcome, eventRef, isEndedRunStatus, type NodeRef, nodeEvent } from './node-events.ts';
import { sanitizedEvent, toStorableOutcome } from './storable-outcome.ts';
import type { JsonValue, LedgerEntries, ReadyNode, StoredError } from './types.ts';

/** Where a ready successor was dispatched: persisted so a re-drive can continue the trace. */
export interface DispatchRecord {
  nodeId: string;
  jobId: string;
  carrier: TraceCarrier;
}

export interface FinishNodeInput extends NodeRef {
  status: 'completed' | 'failed';
  output: JsonValue | null;
  error: StoredError | null;
  ledger: LedgerEntries;
  /** Whether this node is a sink: its output is part of the run's output. */
  isSink: boolean;
  sinks: readonly string[];
  /**
   * A prepared dispatch for every successor. The statement stores the job id and carrier of those that
   * become ready (their last dependency is this node); the others' are discarded.
   */
  dispatches: readonly DispatchRecord[];
}

export interface FinishNodeResult extends AttemptOutcome {
  /** Successors that became ready, to enqueue now. */
  ready: ReadyNode[];
}

/**
 * Records a finished attempt (completed, or failed for good with `continueOnFailure`), counts it towards
 * the run, completes the run when it was the last node, and marks ready successors queued: one statement
 * for the caller to run alone or in a batch.
 */
export function finishStatement(sql: Sql, input: FinishNodeInput): (db: Sql) => Promise<FinishNodeResult> {
  const isCompleted = input.status === 'completed';
  const storable = toStorableOutcome(input);
  const outputJson = storable.output === null ? null : sql.json(storable.output as never);
  const costRows = modelCallRows(input, storable.ledger);
  const stepRows = agentStepRows(input, storable.ledger);
  const events: EventRow[] = [
    ...sanitizedEvent(eventRef(input), storable.sanitized),
    nodeEvent(input, isCompleted ? 'node.completed' : 'node.failed', storable.error, {
      ...(storable.error ? { error: storable.error } : {}),
      usage: attemptUsage(storable.ledger),
    }),
  ];
  const completes = sql`l.status = 'running' and r.nodes_finished + 1 >= r.nodes_total`;
  // One statement, so one round trip and no explicit transaction. Its parts run in this order: the run's
  // row is locked first (run_lock, joined by node_update), then this node's row, then the successors'
  // rows, the order every other writer of a run uses, so two predecessors finishing together cannot
  // deadlock. Row locks make exactly one of them see a join node's last dependency go. The run's row is
  // updated even when the run is no longer running, for the seq numbers of the events.
  return async (db: Sql): Promise<FinishNodeResult> => {
    const [row] = await db`
      with run_lock as (
        select id, status from runs where id = ${input.runId} for no key update
      ),
      node_update as (
        update node_runs n
        set status = ${input.status}, output = ${outputJson},
            error = ${storable.error === null ? null : sql.json(storable.error as never)}, finished_at = now()
        from run_lock l
        where n.run_id = ${input.runId} and n.node_id = ${input.nodeId}
          and n.status = ${input.fromStatus ?? 'running'} and n.attempt = ${input.attempt}
        returning n.node_id
      ),
      run_update as (
        update runs r
        set nodes_finished = case when l.status = 'running' then r.nodes_finished + 1 else r.nodes_finished end,
            status = case when ${completes} then 'completed'::run_status else r.status end,
            finished_at = case when ${completes} then now() else r.finished_at end,
            event_seq = r.event_seq + ${events.length} + case when ${completes} then 1 else 0 end,
            output = case when ${completes} then (
              -- Sink outputs as of this statement's snapshot, plus this node's own (not visible to it yet).
              select coalesce(jsonb_object_agg(n.node_id, n.output), '{}'::jsonb)
                || case when ${input.isSink && isCompleted} then jsonb_build_object(${input.nodeId}::text, ${outputJson}::jsonb)
                        else '{}'::jsonb end
              from node_runs n
              where n.run_id = ${input.runId} and n.node_id = any(${input.sinks as string[]})
                and n.node_id <> ${input.nodeId} and n.status = 'completed') else r.output end
        from run_lock l
        where r.id = l.id and exists (select 1 from node_update)
        returning r.id, r.tenant_id, r.workflow_id, r.status, r.error, r.trace_id, r.span_id, r.parent_span_id,
          r.trace_flags, r.trace_state, r.span_links, r.created_at, r.finished_at, r.event_seq,
          (l.status = 'running' and r.status = 'completed') as completed_now
      ),
      successors as (
        update node_runs s
        set remaining_deps = s.remaining_deps - 1,
            status = case when s.remaining_deps = 1 then 'queued'::node_status else s.status end,
            queued_at = case when s.remaining_deps = 1 then now() else s.queued_at end,
            job_id = case when s.remaining_deps = 1 then d."jobId" else s.job_id end,
            dispatch_carrier = case when s.remaining_deps = 1 then d.carrier else s.dispatch_carrier end
        from jsonb_to_recordset(${sql.json(input.dispatches as never)}) as d("nodeId" text, "jobId" text, carrier jsonb)
        where s.run_id = ${input.runId} and s.node_id = d."nodeId" and s.status = 'pending'
          and exists (select 1 from run_update where status = 'running')
        returning s.node_id, s.type, s.remaining_deps,
          (select coalesce(jsonb_agg(jsonb_build_object(
              'nodeId', p.node_id, 'traceId', p.trace_id, 'spanId', p.span_id)), '[]'::jsonb)
           from node_runs p where p.run_id = s.run_id and p.node_id = any(s.depends_on)) as predecessors
      ),
      costs as (
        insert into model_cost_logs (run_id, tenant_id, node_id, attempt, call_index, operation, provider,
          request_model, response_model, response_id, input_tokens, output_tokens, cached_input_tokens,
          reasoning_tokens, cost_usd, pricing_version, latency_ms, finish_reason, trace_id, span_id)
        select run_id, tenant_id, node_id, attempt, call_index, operation, provider, request_model,
          response_model, response_id, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens,
          cost_usd, pricing_version, latency_ms, finish_reason, trace_id, span_id
        from jsonb_to_recordset(${sql.json(costRows as never)}) as c(run_id uuid, tenant_id uuid, node_id text,
          attempt int, call_index int, operation text, provider text, request_model text, response_model text,
          response_id text, input_tokens int, output_tokens int, cached_input_tokens int, reasoning_tokens int,
          cost_usd numeric, pricing_version text, latency_ms int, finish_reason text, trace_id text, span_id text)
        where exists (select 1 from node_update)
        on conflict do nothing
      ),
      steps as (
        insert into agent_trace_history (run_id, tenant_id, node_id, attempt, step, thought, tool_name,
          tool_call_id, tool_input, observation, is_error, input_tokens, output_tokens, trace_id, span_id)
        select run_id, tenant_id, node_id, attempt, step, thought, tool_name, tool_call_id, tool_input,
          observation, is_error, input_tokens, output_tokens, trace_id, span_id
        from jsonb_to_recordset(${sql.json(stepRows as never)}) as a(run_id uuid, tenant_id uuid, node_id text,
          attempt int, step int, thought text, tool_name text, tool_call_id text, tool_input jsonb,
          observation jsonb, is_error boolean, input_tokens int, output_tokens int, trace_id text, span_id text)
        where exists (select 1 from node_update)
        on conflict do nothing
      ),
      events as (
        -- The seq numbers run_update took: this node's events in order, then run.completed.
        insert into event_logs (run_id, tenant_id, node_id, attempt, type, message, data, dedupe_key, trace_id,
                                span_id, seq)
        select e.run_id, e.tenant_id, e.node_id, e.attempt, e.type, e.message, e.data, e.dedupe_key, e.trace_id,
          e.span_id, u.event_seq - ${events.length} - (case when u.completed_now then 1 else 0 end) + e.ord
        from jsonb_to_recordset(${sql.json(eventRows(events).map((e, i) => ({ ...e, ord: i + 1 })) as never)})
          as e(run_id uuid, tenant_id uuid, node_id text, attempt int, type text, message text, data jsonb,
               dedupe_key text, trace_id text, span_id text, ord int)
          cross join run_update u
        union all
        select r.id, r.tenant_id, null, null, 'run.completed', null, null, 'run.completed::',
          ${input.traceId}::text, ${input.spanId}::text, r.event_seq
        from run_update r where r.completed_now
        on conflict do nothing
      )
      select exists (select 1 from node_update) as applied, (select status from run_lock) as run_status,
             (select row_to_json(r) from run_update r where r.completed_now) as finished,
             (select coalesce(jsonb_agg(jsonb_build_object(
                 'nodeId', s.node_id, 'type', s.type, 'predecessors', s.predecessors)), '[]'::jsonb)
              from successors s where s.remaining_deps = 0) as ready`;
    const finished = row?.finished as
      | (Omit<FinishedRunRow, 'created_at' | 'finished_at'> & { created_at: string; finished_at: string })
      | null;
    return {
      applied: row?.applied === true,
      runEnded: row?.applied === true && isEndedRunStatus(row?.run_status as string | null),
      finishedRun: finished
        ? toFinishedRun({
            ...finished,
            created_at: new Date(finished.created_at),
            finished_at: new Date(finished.finished_at),
          })
        : null,
      ready: (row?.ready ?? []) as ReadyNode[],
    };
  };
}
