import { type Sql, transaction } from '@flowtrace/db';
import type { TraceCarrier } from '@flowtrace/telemetry';
import type { Tracer } from '@opentelemetry/api';
import { announceCommitted, type RunEventNotifier } from '../events/run-event-channel.ts';
import { withDbSpan } from '../tracing/db-span.ts';
import { FINISHED_RUN_COLUMNS, type FinishedRunRow, toFinishedRun } from './finished-run.ts';
import { insertEvents } from './ledger-rows.ts';
import type { FinishedRun, StoredError } from './types.ts';

export type TerminateResult =
  | { outcome: 'terminated'; run: FinishedRun; runningNodes: number }
  | { outcome: 'already_finished'; status: string }
  | { outcome: 'not_found' };

/** A node the reconciler should look at: queued without a live job, or running without a heartbeat. */
export interface StaleNode {
  runId: string;
  nodeId: string;
  type: string;
  status: 'queued' | 'running';
  attempt: number;
  jobId: string | null;
  carrier: TraceCarrier | null;
  workflowId: string;
  tenantId: string;
  /** The run's trace and its `invoke_workflow` span. */
  traceId: string;
  runSpanId: string;
  traceFlags: number;
  traceState: string | null;
  maxAttempts: number;
  /** Times the reconciler has re-driven the node so far. */
  redrives: number;
  predecessors: { nodeId: string; traceId: string | null; spanId: string | null }[];
}

/**
 * Run-level control: ending a run from outside its workers (cancellation by the API, run timeouts by the
 * reconciler) and finding the runs and nodes whose Postgres state says work should be in Redis.
 */
export class RunControlStore {
  readonly #sql: Sql;
  readonly #tracer: Tracer;
  readonly #events: RunEventNotifier | undefined;

  /** `events` is told when a run's terminal event has committed (live readers of the run are woken). */
  constructor(deps: { sql: Sql; tracer: Tracer; events?: RunEventNotifier }) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
    this.#events = deps.events;
  }

  /**
   * Ends a queued or running run with `status`: nodes that had not started are skipped (pending) or
   * cancelled (queued, so their jobs do nothing); running nodes are left to their workers, which the caller
   * tells to abort. `tenantId` scopes the lookup for API callers.
   */
  terminate(input: {
    runId: string;
    tenantId?: string | undefined;
    status: 'cancelled' | 'failed';
    error: StoredError;
    event: 'run.cancelled' | 'run.failed';
    /** The span recording this (the API request or the reconciler tick); the run's own span otherwise. */
    spanIds?: { traceId: string; spanId: string };
  }): Promise<TerminateResult> {
    const write = withDbSpan(this.#tracer, 'terminate_run', () =>
      transaction(this.#sql, async (tx): Promise<TerminateResult> => {
        const scoped = input.tenantId === undefined ? tx`` : tx`and tenant_id = ${input.tenantId}`;
        const [row] = await tx`
          update runs set status = ${input.status}, error = ${tx.json(input.error as never)}, finished_at = now()
          where id = ${input.runId} ${scoped} and status in ('queued', 'running')
          returning ${tx(FINISHED_RUN_COLUMNS)}`;
        if (!row) {
          const [current] = await tx`select status from runs where id = ${input.runId} ${scoped}`;
          return current ? { outcome: 'already_finished', status: current.status } : { outcome: 'not_found' };
        }
        const run = toFinishedRun(row as unknown as FinishedRunRow);
        const stopped = await tx`
          update node_runs
          set status = case when status = 'pending' then 'skipped'::node_status else 'cancelled'::node_status end,
              finished_at = now()
          where run_id = ${input.runId} and status in ('pending', 'queued')
          returning node_id, status`;
        const nodesWith = (status: string) =>
          stopped
            .filter((n) => n.status === status)
            .map((n) => n.node_id as string)
            .sort();
        const [running] = await tx`
          select count(*)::int as n from node_runs where run_id = ${input.runId} and status = 'running'`;
        await insertEvents(tx, [
          {
            runId: run.runId,
            tenantId: run.tenantId,
            nodeId: null,
            attempt: null,
            type: input.event,
            message: input.error.message,
            data: {
              error: input.error,
              skippedNodes: nodesWith('skipped'),
              cancelledNodes: nodesWith('cancelled'),
            },
            traceId: input.spanIds?.traceId ?? run.traceId,
            spanId: input.spanIds?.spanId ?? run.spanId,
          },
        ]);
        return { outcome: 'terminated', run, runningNodes: running?.n ?? 0 };
      }),
    );
    return announceCommitted(this.#events, input.runId, write, (r) => r.outcome === 'terminated');
  }

  /** Runs past their deadline that have not ended. */
  async findTimedOutRuns(limit: number): Promise<{ runId: string; deadlineAt: Date }[]> {
    const rows = await this.#sql`
      select id, deadline_at from runs
      where status in ('queued', 'running') and deadline_at < now()
      order by deadline_at limit ${limit}`;
    return rows.map((r) => ({ runId: r.id, deadlineAt: r.deadline_at }));
  }

  /**
   * Model calls still `reserved` in runs that ended more than `afterMs` ago become `abandoned`, their
   * estimate staying counted. Their workers died mid-call: a lost attempt's calls are marked when its node
   * runs again, which a node of an ended run never does, and a live worker settles or releases its calls
   * as the run's stop reaches it. Returns how many calls were marked.
   */
  async abandonReservationsOfEndedRuns(afterMs: number, limit: number): Promise<number> {
    const rows = await this.#sql`
      update model_cost_logs m set status = 'abandoned'
      where m.id in (
        select c.id from model_cost_logs c join runs r on r.id = c.run_id
        where c.status = 'reserved' and r.status not in ('queued', 'running')
          and r.finished_at < now() - make_interval(secs => ${afterMs / 1000})
        limit ${limit})
        and m.status = 'reserved'
      returning m.id`;
    return rows.length;
  }

  /**
   * Nodes of active runs that should have a job in Redis and may not: queued for longer than
   * `queuedGraceMs` (their enqueue may have been lost), or running with a heartbeat older than
   * `heartbeatStaleMs` (their worker is gone). Callers check Redis before re-driving.
   */
  async findStaleNodes(options: {
    queuedGraceMs: number;
    heartbeatStaleMs: number;
    limit: number;
  }): Promise<StaleNode[]> {
    const rows = await this.#sql`
      select n.run_id, n.node_id, n.type, n.status, n.attempt, n.max_attempts, n.redrives, n.job_id, n.dispatch_carrier,
             r.workflow_id, r.tenant_id, r.trace_id, r.span_id as run_span_id, r.trace_flags, r.trace_state,
             (select coalesce(jsonb_agg(jsonb_build_object(
                 'nodeId', p.node_id, 'traceId', p.trace_id, 'spanId', p.span_id)), '[]'::jsonb)
              from node_runs p where p.run_id = n.run_id and p.node_id = any(n.depends_on)) as predecessors
      from node_runs n join runs r on r.id = n.run_id
      where r.status in ('queued', 'running')
        and ((n.status = 'queued' and n.queued_at < now() - make_interval(secs => ${options.queuedGraceMs / 1000}))
          or (n.status = 'running'
              and coalesce(n.heartbeat_at, n.started_at) < now() - make_interval(secs => ${options.heartbeatStaleMs / 1000})))
      order by n.queued_at nulls last
      limit ${options.limit}`;
    return rows.map((r) => ({
      runId: r.run_id,
      nodeId: r.node_id,
      type: r.type,
      status: r.status,
      attempt: r.attempt,
      jobId: r.job_id,
      carrier: r.dispatch_carrier,
      workflowId: r.workflow_id,
      tenantId: r.tenant_id,
      traceId: r.trace_id,
      runSpanId: r.run_span_id,
      traceFlags: r.trace_flags,
      traceState: r.trace_state,
      maxAttempts: r.max_attempts,
      redrives: r.redrives,
      predecessors: r.predecessors,
    }));
  }

  /**
   * Marks a run that has not started as running, as its first claim would (without a `run.started`
   * event: no node started). For the reconciler recording a node's outcome before any node was claimed,
   * which only a running run counts.
   */
  async markRunning(runId: string): Promise<void> {
    await this.#sql`
      update runs set status = 'running', started_at = coalesce(started_at, now())
      where id = ${runId} and status = 'queued'`;
  }

  /**
   * Counts a re-drive and stores its job and carrier, so a later re-drive continues from it. False (nothing
   * written) when the node is no longer in the status and attempt it was found stale in.
   */
  async recordRedrive(
    node: Pick<StaleNode, 'runId' | 'nodeId' | 'status' | 'attempt'>,
    jobId: string,
    carrier: TraceCarrier,
  ): Promise<boolean> {
    const rows = await this.#sql`
      update node_runs
      set redrives = redrives + 1, job_id = ${jobId}, dispatch_carrier = ${this.#sql.json(carrier as never)}
      where run_id = ${node.runId} and node_id = ${node.nodeId}
        and status = ${node.status} and attempt = ${node.attempt}
      returning redrives`;
    return rows.length > 0;
  }
}
