import type { Sql } from '@flowtrace/db';
import type { JsonValue } from '@flowtrace/workflow';
import type { Tracer } from '@opentelemetry/api';
import type { DispatchRecord } from '../store/finish-node.ts';
import { eventRows } from '../store/ledger-rows.ts';
import type { StoredWorkflow } from '../store/run-repository.ts';
import type { RunSpanLink, RunTraceIdentity } from '../store/types.ts';
import { withDbSpan } from '../tracing/db-span.ts';

/** The run a replay starts from, as it ended. */
export interface ReplaySource {
  id: string;
  workflowId: string;
  status: string;
  input: Record<string, JsonValue>;
  traceId: string;
  /** Its `invoke_workflow` span, which the replay's links to. */
  spanId: string;
  traceFlags: number;
  nodes: { nodeId: string; status: string; traceId: string | null; spanId: string | null }[];
}

export interface NewReplayRun {
  id: string;
  tenantId: string;
  apiKeyId: string | null;
  workflow: StoredWorkflow;
  replayOf: string;
  /** The nodes the replay starts from (recorded on its `run.queued` event). */
  from: string[];
  input: Record<string, JsonValue>;
  idempotencyKey: string | null;
  requestHash: string;
  trace: RunTraceIdentity;
  spanLinks: RunSpanLink[];
  createdAt: Date;
  deadlineAt: Date | null;
  nodes: {
    nodeId: string;
    type: string;
    dependsOn: string[];
    maxAttempts: number;
    /** Completed with the replayed run's output, never executed. */
    reused: boolean;
    remainingDeps: number;
  }[];
}

/** A replay (or the earlier run of its idempotency key). */
export interface ReplaySummary {
  id: string;
  workflowId: string;
  status: string;
  traceId: string;
  requestHash: string | null;
  replayOf: string | null;
}

/** Postgres side of replays: reading the run to replay, and creating the replay in one statement. */
export class ReplayStore {
  readonly #sql: Sql;
  readonly #tracer: Tracer;

  constructor(deps: { sql: Sql; tracer: Tracer }) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
  }

  /** The tenant's run with its nodes; null when it does not exist for this tenant. */
  findSource(tenantId: string, runId: string): Promise<ReplaySource | null> {
    return withDbSpan(this.#tracer, 'SELECT runs', async () => {
      const [row] = await this.#sql`
        select r.id, r.workflow_id, r.status, r.input, r.trace_id, r.span_id, r.trace_flags,
               (select coalesce(jsonb_agg(jsonb_build_object('nodeId', n.node_id, 'status', n.status,
                         'traceId', n.trace_id, 'spanId', n.span_id)), '[]'::jsonb)
                from node_runs n where n.run_id = r.id) as nodes
        from runs r where r.id = ${runId} and r.tenant_id = ${tenantId}`;
      if (!row) return null;
      return {
        id: row.id,
        workflowId: row.workflow_id,
        status: row.status,
        input: row.input,
        traceId: row.trace_id,
        spanId: row.span_id,
        traceFlags: row.trace_flags,
        nodes: row.nodes,
      };
    });
  }

  /** The tenant's run started with this idempotency key, if any. */
  async findByIdempotencyKey(tenantId: string, idempotencyKey: string): Promise<ReplaySummary | null> {
    const [row] = await this.#sql`
      select id, workflow_id, status, trace_id, request_hash, replay_of from runs
      where tenant_id = ${tenantId} and idempotency_key = ${idempotencyKey}`;
    return row ? toSummary(row) : null;
  }

  /**
   * Creates the replay, its nodes (reused ones completed with the replayed run's outputs, copied in
   * Postgres; executed roots queued with their dispatches), and its `run.queued` and `node.reused` events,
   * in one statement. Returns null when the idempotency key was taken meanwhile.
   */
  create(run: NewReplayRun, dispatches: readonly DispatchRecord[]): Promise<ReplaySummary | null> {
    const sql = this.#sql;
    const records = new Map(dispatches.map((r) => [r.nodeId, r]));
    const nodes = run.nodes.map((n) => {
      const record = records.get(n.nodeId);
      return {
        node_id: n.nodeId,
        type: n.type,
        status: n.reused ? 'completed' : record ? 'queued' : 'pending',
        depends_on: n.dependsOn,
        remaining_deps: n.remainingDeps,
        max_attempts: n.maxAttempts,
        job_id: record?.jobId ?? null,
        dispatch_carrier: record?.carrier ?? null,
        queued: record !== undefined,
        reused: n.reused,
      };
    });
    const reused = run.nodes.filter((n) => n.reused);
    const ref = {
      runId: run.id,
      tenantId: run.tenantId,
      traceId: run.trace.traceId,
      spanId: run.trace.spanId,
    };
    const events = eventRows([
      {
        ...ref,
        nodeId: null,
        attempt: null,
        type: 'run.queued',
        data: {
          workflowId: run.workflow.id,
          workflowVersion: run.workflow.version,
          replayOf: run.replayOf,
          fromNodes: run.from,
        },
      },
      ...reused.map((n) => ({
        ...ref,
        nodeId: n.nodeId,
        attempt: null,
        type: 'node.reused',
        message: `output taken from run ${run.replayOf}`,
        data: { replayOf: run.replayOf },
      })),
    ]).map((row, index) => ({ ...row, seq: index + 1 }));
    return withDbSpan(this.#tracer, 'create_run', async () => {
      const [row] = await sql`
        with inserted as (
          insert into runs (id, tenant_id, workflow_id, api_key_id, status, input, idempotency_key, request_hash,
                            trace_id, span_id, parent_span_id, trace_flags, trace_state, nodes_total, nodes_finished,
                            deadline_at, created_at, event_seq, replay_of, span_links)
          values (${run.id}, ${run.tenantId}, ${run.workflow.id}, ${run.apiKeyId}, 'queued',
                  ${sql.json(run.input as never)}, ${run.idempotencyKey}, ${run.requestHash},
                  ${run.trace.traceId}, ${run.trace.spanId}, ${run.trace.parentSpanId}, ${run.trace.traceFlags},
                  ${run.trace.traceState}, ${run.nodes.length}, ${reused.length}, ${run.deadlineAt},
                  ${run.createdAt}, ${events.length}, ${run.replayOf}, ${sql.json(run.spanLinks as never)})
          on conflict (tenant_id, idempotency_key) where idempotency_key is not null do nothing
          returning id, workflow_id, status, trace_id, request_hash, replay_of
        ),
        node_rows as (
          insert into node_runs (run_id, node_id, type, status, depends_on, remaining_deps, max_attempts,
                                 job_id, dispatch_carrier, queued_at, output, reused, finished_at)
          select i.id, n.node_id, n.type, n.status::node_status,
                 array(select jsonb_array_elements_text(n.depends_on)), n.remaining_deps, n.max_attempts,
                 n.job_id, n.dispatch_carrier, case when n.queued then ${run.createdAt}::timestamptz end,
                 o.output, n.reused, case when n.reused then ${run.createdAt}::timestamptz end
          from inserted i
          cross join jsonb_to_recordset(${sql.json(nodes as never)}) as n(node_id text, type text, status text,
            depends_on jsonb, remaining_deps int, max_attempts int, job_id text, dispatch_carrier jsonb,
            queued boolean, reused boolean)
          left join node_runs o on n.reused and o.run_id = ${run.replayOf} and o.node_id = n.node_id
        ),
        events as (
          insert into event_logs (run_id, tenant_id, node_id, attempt, type, message, data, dedupe_key, trace_id,
                                  span_id, seq)
          select e.run_id, e.tenant_id, e.node_id, e.attempt, e.type, e.message, e.data, e.dedupe_key, e.trace_id,
                 e.span_id, e.seq
          from inserted i,
               jsonb_to_recordset(${sql.json(events as never)}) as e(run_id uuid, tenant_id uuid, node_id text,
                 attempt int, type text, message text, data jsonb, dedupe_key text, trace_id text, span_id text,
                 seq int)
        )
        select (select row_to_json(i) from inserted i) as created`;
      return row?.created ? toSummary(row.created) : null;
    });
  }
}

function toSummary(row: Record<string, unknown>): ReplaySummary {
  return {
    id: row.id as string,
    workflowId: row.workflow_id as string,
    status: row.status as string,
    traceId: row.trace_id as string,
    requestHash: (row.request_hash as string | null) ?? null,
    replayOf: (row.replay_of as string | null) ?? null,
  };
}
