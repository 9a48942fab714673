import type { Sql, Transaction } from '@flowtrace/db';
import type { TraceCarrier } from '@flowtrace/telemetry';
import type { Tracer } from '@opentelemetry/api';
import { attemptUsage } from '../events/attempt-usage.ts';
import { announceCommitted, type RunEventNotifier } from '../events/run-event-channel.ts';
import { withDbSpan } from '../tracing/db-span.ts';
import { FINISHED_RUN_COLUMNS, type FinishedRunRow, toFinishedRun } from './finished-run.ts';
import {
  agentStepRows,
  type EventRow,
  eventRows,
  insertEvents,
  insertLedgerRows,
  lockRunForEvents,
  modelCallRows,
} from './ledger-rows.ts';
import { sanitizedEvent, toStorableOutcome } from './storable-outcome.ts';
import type {
  FinishedRun,
  JsonValue,
  LedgerEntries,
  ReadyNode,
  RunTraceIdentity,
  StoredError,
} from './types.ts';
import { NO_BATCHING, WriteBatcher, type WriteBatcherOptions } from './write-batcher.ts';

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

/** Where a ready successor was dispatched: persisted so a re-drive can continue the trace. */
export interface DispatchRecord {
  nodeId: string;
  jobId: string;
  carrier: TraceCarrier;
}

interface NodeRef {
  runId: string;
  nodeId: string;
  attempt: number;
  tenantId: string;
  /** The span of this attempt (the consumer span), stamped on rows. */
  traceId: string;
  spanId: string | null;
  /**
   * The status the node must still have for the write to apply (with `attempt`): `running` for a worker
   * recording its attempt; `queued` when the reconciler gives up on a node waiting for a job.
   */
  fromStatus?: 'running' | 'queued';
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

export interface AttemptOutcome {
  /** False when the attempt was superseded (another attempt or a cancel got there first). */
  applied: boolean;
  finishedRun: FinishedRun | null;
}

export interface FailRunOutcome extends AttemptOutcome {
  /** Other nodes of the run still running when it failed: their workers are to be told to stop. */
  runningNodes: number;
}

export interface FinishNodeResult extends AttemptOutcome {
  /** Successors that became ready, to enqueue now. */
  ready: ReadyNode[];
}

export interface FailRunInput extends NodeRef {
  error: StoredError;
  ledger: LedgerEntries;
}

export interface RetryNodeInput extends NodeRef {
  error: StoredError;
  ledger: LedgerEntries;
  delayMs: number;
}

/**
 * The worker side of the run state machine in Postgres: claim a node, then record its outcome and, in
 * the same transaction, decide which successors are ready. Row locks make a join node ready exactly once
 * even when its predecessors finish at the same moment on different workers.
 */
export class NodeStateStore {
  readonly #sql: Sql;
  readonly #tracer: Tracer;
  readonly #events: RunEventNotifier | undefined;

  /** `events` is told when a write's events have committed (live readers of the run are woken). */
  readonly #claims: WriteBatcher;
  readonly #outcomes: WriteBatcher;

  /**
   * `events` is told when a write's events have committed (live readers of the run are woken). With
   * `batching`, claims and recorded outcomes of concurrent jobs are committed together (`WriteBatcher`).
   */
  constructor(deps: {
    sql: Sql;
    tracer: Tracer;
    events?: RunEventNotifier;
    batching?: WriteBatcherOptions;
  }) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
    this.#events = deps.events;
    const batching = deps.batching ?? NO_BATCHING;
    this.#claims = new WriteBatcher(deps, 'claim_node', batching);
    this.#outcomes = new WriteBatcher(deps, 'finish_node', batching);
  }

  /**
   * Marks the node running for a new attempt (also after a stalled delivery) and returns what executing it
   * needs, in one round trip. Null when the node is not runnable: done, cancelled, or its run is over.
   */
  claim(ref: ClaimRef): Promise<ClaimedNode | null> {
    const sql = this.#sql;
    // Only the outputs the node's templates can reference (its ancestors'), so that a claim reads what the
    // node needs whatever the size of its run; every completed output when the caller does not know them.
    const outputsOf = ref.outputsOf ? sql`and d.node_id = any(${ref.outputsOf as string[]}::text[])` : sql``;
    const sameWorkflow = ref.workflowId ? sql`and r.workflow_id = ${ref.workflowId}::uuid` : sql``;
    const claim = async (db: Sql): Promise<ClaimedNode | null> => {
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
    const claimed = withDbSpan(this.#tracer, 'claim_node', () => this.#claims.write(ref.runId, claim));
    return announceCommitted(this.#events, ref.runId, claimed, (node) => node !== null);
  }

  /**
   * Renews a running attempt's heartbeat; false when the attempt is no longer the node's current one or its
   * run has ended (cancelled, timed out, failed by another node), so that a worker that missed the stop
   * message stops the attempt.
   */
  async heartbeat(ref: { runId: string; nodeId: string; attempt: number }): Promise<boolean> {
    const rows = await this.#sql`
      update node_runs n set heartbeat_at = now()
      from runs r
      where n.run_id = ${ref.runId} and n.node_id = ${ref.nodeId} and n.attempt = ${ref.attempt}
        and n.status = 'running' and r.id = n.run_id and r.status in ('queued', 'running')
      returning n.node_id`;
    return rows.length > 0;
  }

  /** Records an attempt stopped by its run's cancellation (or timeout): the node ends `cancelled`. */
  cancelAttempt(input: NodeRef & { error: StoredError; ledger: LedgerEntries }): Promise<boolean> {
    const { attempt, events } = this.#storableAttempt(input);
    const write = withDbSpan(this.#tracer, 'cancel_node', () =>
      this.#sql.begin(async (tx) => {
        if (!(await endRunningAttempt(tx, attempt, 'cancelled'))) return false;
        await insertEvents(tx, [
          ...events,
          this.#event(input, 'node.cancelled', attempt.error, {
            error: attempt.error,
            usage: attemptUsage(attempt.ledger),
          }),
        ]);
        return true;
      }),
    );
    return announceCommitted(this.#events, input.runId, write, (applied) => applied);
  }

  /**
   * Records a finished attempt (completed, or failed for good with `continueOnFailure`), counts it towards
   * the run, completes the run when it was the last node, and marks ready successors queued.
   */
  finishNode(input: FinishNodeInput): Promise<FinishNodeResult> {
    const sql = this.#sql;
    const isCompleted = input.status === 'completed';
    const storable = toStorableOutcome(input);
    const outputJson = storable.output === null ? null : sql.json(storable.output as never);
    const costRows = modelCallRows(input, storable.ledger);
    const stepRows = agentStepRows(input, storable.ledger);
    const events: EventRow[] = [
      ...sanitizedEvent(this.#eventRef(input), storable.sanitized),
      this.#event(input, isCompleted ? 'node.completed' : 'node.failed', storable.error, {
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
    const finish = async (db: Sql): Promise<FinishNodeResult> => {
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
        select exists (select 1 from node_update) as applied,
               (select row_to_json(r) from run_update r where r.completed_now) as finished,
               (select coalesce(jsonb_agg(jsonb_build_object(
                   'nodeId', s.node_id, 'type', s.type, 'predecessors', s.predecessors)), '[]'::jsonb)
                from successors s where s.remaining_deps = 0) as ready`;
      const finished = row?.finished as
        | (Omit<FinishedRunRow, 'created_at' | 'finished_at'> & { created_at: string; finished_at: string })
        | null;
      return {
        applied: row?.applied === true,
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
    const write = withDbSpan(this.#tracer, 'finish_node', () => this.#outcomes.write(input.runId, finish));
    return announceCommitted(this.#events, input.runId, write, (result) => result.applied);
  }

  /** Records a failed attempt that will be retried: the node goes back to queued with the error. */
  retryNode(input: RetryNodeInput): Promise<boolean> {
    const { attempt, events } = this.#storableAttempt(input);
    const write = withDbSpan(this.#tracer, 'retry_node', () =>
      this.#sql.begin(async (tx) => {
        if (!(await endRunningAttempt(tx, attempt, 'queued'))) return false;
        await insertEvents(tx, [
          ...events,
          this.#event(input, 'node.retried', attempt.error, {
            delayMs: input.delayMs,
            error: attempt.error,
            usage: attemptUsage(attempt.ledger),
          }),
        ]);
        return true;
      }),
    );
    return announceCommitted(this.#events, input.runId, write, (applied) => applied);
  }

  /**
   * Records a failed node that fails its run: the run ends failed and its waiting nodes are skipped; the
   * nodes still running are counted, for the caller to stop them.
   */
  failRun(input: FailRunInput): Promise<FailRunOutcome> {
    const { attempt, events: sanitized } = this.#storableAttempt(input);
    const write = withDbSpan(this.#tracer, 'fail_run', () =>
      this.#sql.begin(async (tx) => {
        if (!(await endRunningAttempt(tx, attempt, 'failed')))
          return { applied: false, finishedRun: null, runningNodes: 0 };
        const events: EventRow[] = [
          ...sanitized,
          this.#event(input, 'node.failed', attempt.error, {
            error: attempt.error,
            usage: attemptUsage(attempt.ledger),
          }),
        ];
        const runError: StoredError = {
          code: attempt.error.code,
          message: `node "${input.nodeId}" failed: ${attempt.error.message}`,
          nodeId: input.nodeId,
        };
        const [run] = await tx`
          update runs set status = 'failed', error = ${tx.json(runError as never)}, finished_at = now()
          where id = ${input.runId} and status in ('queued', 'running')
          returning ${tx(FINISHED_RUN_COLUMNS)}`;
        let finishedRun: FinishedRun | null = null;
        let runningNodes = 0;
        if (run) {
          const skipped = await tx`
            update node_runs set status = 'skipped', finished_at = now()
            where run_id = ${input.runId} and status in ('pending', 'queued')
            returning node_id`;
          const [running] = await tx`
            select count(*)::int as n from node_runs where run_id = ${input.runId} and status = 'running'`;
          runningNodes = running?.n ?? 0;
          finishedRun = toFinishedRun(run as unknown as FinishedRunRow);
          events.push(
            this.#event({ ...input, nodeId: null, attempt: null }, 'run.failed', runError, {
              error: runError,
              skippedNodes: skipped.map((n) => n.node_id as string).sort(),
            }),
          );
        }
        await insertEvents(tx, events);
        return { applied: true, finishedRun, runningNodes };
      }),
    );
    return announceCommitted(this.#events, input.runId, write, (result) => result.applied);
  }

  /** The attempt with its error and ledger made storable, and the event reporting any repair. */
  #storableAttempt<T extends NodeRef & { error: StoredError; ledger: LedgerEntries }>(
    input: T,
  ): { attempt: T; events: EventRow[] } {
    const storable = toStorableOutcome({ output: null, error: input.error, ledger: input.ledger });
    return {
      attempt: { ...input, error: storable.error as StoredError, ledger: storable.ledger },
      events: sanitizedEvent(this.#eventRef(input), storable.sanitized),
    };
  }

  #eventRef(ref: NodeRef): Omit<EventRow, 'type' | 'message' | 'data'> {
    return {
      runId: ref.runId,
      tenantId: ref.tenantId,
      nodeId: ref.nodeId,
      attempt: ref.attempt,
      traceId: ref.traceId,
      spanId: ref.spanId,
    };
  }

  #event(
    ref: Omit<NodeRef, 'nodeId' | 'attempt'> & { nodeId: string | null; attempt: number | null },
    type: string,
    error: StoredError | null,
    data?: unknown,
  ): EventRow {
    return {
      runId: ref.runId,
      tenantId: ref.tenantId,
      nodeId: ref.nodeId,
      attempt: ref.attempt,
      type,
      ...(error ? { message: error.message } : {}),
      ...(data !== undefined ? { data } : error ? { data: { error } } : {}),
      traceId: ref.traceId,
      spanId: ref.spanId,
    };
  }
}

/**
 * Ends the running attempt `input.attempt` with `status` and `input.error` (`queued`: back in the queue
 * for a retry, stamped `queued_at`; otherwise finished) and writes its ledger rows. False when the attempt
 * is no longer running (a stale delivery or a newer attempt), in which case nothing is written. Locks the
 * run's row first, the lock order of every writer of a run's events.
 */
async function endRunningAttempt(
  tx: Transaction,
  input: NodeRef & { error: StoredError; ledger: LedgerEntries },
  status: 'queued' | 'cancelled' | 'failed',
): Promise<boolean> {
  const stamp = status === 'queued' ? tx`queued_at = now()` : tx`finished_at = now()`;
  await lockRunForEvents(tx, input.runId);
  const updated = await tx`
    update node_runs set status = ${status}, error = ${tx.json(input.error as never)}, ${stamp}
    where run_id = ${input.runId} and node_id = ${input.nodeId}
      and status = ${input.fromStatus ?? 'running'} and attempt = ${input.attempt}
    returning node_id`;
  if (updated.length === 0) return false;
  await insertLedgerRows(tx, input, input.ledger);
  return true;
}
