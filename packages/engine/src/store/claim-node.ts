import type { Sql } from '@flowtrace/db';
import type { JsonValue, RunTraceIdentity } from './types.ts';

/** What a worker needs to execute a node it has claimed. */
export interface ClaimedNode {
  attempt: number;
  maxAttempts: number;
  tenantId: string;
  workflowId: string;
  apiKeyId: string | null;
  input: JsonValue;
  /** Outputs of the run's completed nodes (those asked for: the node's ancestors), by node id. */
  completedOutputs: Record<string, JsonValue>;
  run: RunTraceIdentity;
  /** The previous attempt, when it was lost mid-flight (its worker died): emitted as a failed span. */
  lostAttempt: { attempt: number; traceId: string; spanId: string; startedAt: Date } | null;
}

/** The node attempt a worker claims, and what it needs read back. */
export interface ClaimRef {
  runId: string;
  nodeId: string;
  /** The attempt's consumer span, stamped on the node and its `node.started` event. */
  traceId: string;
  spanId: string;
  /** The workflow the job was dispatched for: a job naming another workflow than its run's is not runnable. */
  workflowId?: string;
  /** Nodes whose completed outputs the claim returns (the node's ancestors); all completed ones if absent. */
  outputsOf?: readonly string[];
}

/**
 * The claim of a node attempt, one statement for the caller to run alone or in a batch: marks the node
 * running for a new attempt (also after a stalled delivery) and returns what executing it needs. Null when
 * the node is not runnable: done, cancelled, or its run is over.
 */
export function claimStatement(sql: Sql, ref: ClaimRef): (db: Sql) => Promise<ClaimedNode | null> {
  // Only the outputs the node's templates can reference (its ancestors'), so that a claim reads what the
  // node needs whatever the size of its run; every completed output when the caller does not know them.
  const outputsOf = ref.outputsOf ? sql`and d.node_id = any(${ref.outputsOf as string[]}::text[])` : sql``;
  const sameWorkflow = ref.workflowId ? sql`and r.workflow_id = ${ref.workflowId}::uuid` : sql``;
  return async (db: Sql): Promise<ClaimedNode | null> => {
    const rows = await db`
      with run_lock as (
        -- The run's row before the node's: the lock order of every writer of a run's events (see
        -- lockRunForEvents). The node row is locked by the UPDATE below, which joins this row.
        select id, status, workflow_id from runs where id = ${ref.runId} for no key update
      ),
      previous as (
        -- The row as it was before this claim (sibling CTEs read the statement's snapshot). No FOR UPDATE:
        -- the row the UPDATE below modifies would then be skipped when this CTE is read.
        select attempt, status, trace_id, span_id, started_at from node_runs
        where run_id = ${ref.runId} and node_id = ${ref.nodeId}
      ),
      claimed as (
        update node_runs n
        set status = 'running', attempt = n.attempt + 1, started_at = now(), heartbeat_at = now(),
            finished_at = null, trace_id = ${ref.traceId}, span_id = ${ref.spanId}
        from run_lock r
        where n.run_id = ${ref.runId} and n.node_id = ${ref.nodeId}
          and n.status in ('queued', 'running')
          and r.status in ('queued', 'running') ${sameWorkflow}
        returning n.attempt, n.max_attempts
      ),
      run_update as (
        -- Starts a queued run, and takes the next seq numbers for this claim's events.
        update runs u
        set status = 'running',
            started_at = case when l.status = 'queued' then now() else u.started_at end,
            event_seq = u.event_seq + case when l.status = 'queued' then 2 else 1 end
        from run_lock l
        where u.id = l.id and exists (select 1 from claimed)
        returning u.id, u.tenant_id, u.event_seq, l.status = 'queued' as started
      ),
      events as (
        insert into event_logs (run_id, tenant_id, node_id, attempt, type, dedupe_key, trace_id, span_id, seq)
        select u.id, u.tenant_id, ${ref.nodeId}::text, c.attempt, 'node.started',
               'node.started:' || ${ref.nodeId}::text || ':' || c.attempt, ${ref.traceId}::text,
               ${ref.spanId}::text, u.event_seq
        from claimed c cross join run_update u
        union all
        select u.id, u.tenant_id, null, null, 'run.started', 'run.started::', ${ref.traceId}::text,
               ${ref.spanId}::text, u.event_seq - 1
        from run_update u where u.started
        on conflict do nothing
      )
      select c.attempt, c.max_attempts, r.tenant_id, r.workflow_id, r.api_key_id, r.input,
             r.trace_id, r.span_id, r.parent_span_id, r.trace_flags, r.trace_state,
             p.status as previous_status, p.attempt as previous_attempt, p.trace_id as previous_trace_id,
             p.span_id as previous_span_id, p.started_at as previous_started_at,
             (select coalesce(jsonb_object_agg(d.node_id, d.output), '{}'::jsonb)
                from node_runs d where d.run_id = ${ref.runId} and d.status = 'completed' ${outputsOf}) as outputs
      from claimed c cross join previous p join runs r on r.id = ${ref.runId}`;
    const row = rows[0];
    if (!row) return null;
    return {
      attempt: row.attempt,
      maxAttempts: row.max_attempts,
      tenantId: row.tenant_id,
      workflowId: row.workflow_id,
      apiKeyId: row.api_key_id,
      input: row.input,
      completedOutputs: row.outputs,
      run: {
        traceId: row.trace_id,
        spanId: row.span_id,
        parentSpanId: row.parent_span_id,
        traceFlags: row.trace_flags,
        traceState: row.trace_state,
      },
      // The node was still `running`: its previous attempt's worker died or lost the job.
      lostAttempt:
        row.previous_status === 'running' && row.previous_span_id
          ? {
              attempt: row.previous_attempt,
              traceId: row.previous_trace_id,
              spanId: row.previous_span_id,
              startedAt: row.previous_started_at,
            }
          : null,
    };
  };
}
