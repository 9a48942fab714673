import type { Sql } from '@flowtrace/db';
import type { JsonValue, WorkflowDefinition } from '@flowtrace/workflow';
import type { Tracer } from '@opentelemetry/api';
import { type EventView, readRunEvents } from '../events/run-event-reader.ts';
import { withDbSpan } from '../tracing/db-span.ts';
import { eventRows } from './ledger-rows.ts';
import type { DispatchRecord } from './node-state-store.ts';
import { sha256, stableStringify } from './stable-json.ts';
import type { RunTraceIdentity, StoredError } from './types.ts';

export type { EventView };

export interface StoredWorkflow {
  id: string;
  tenantId: string;
  name: string;
  version: number;
  definition: WorkflowDefinition;
  createdAt: Date;
}

export interface NewRun {
  id: string;
  tenantId: string;
  apiKeyId: string | null;
  workflow: StoredWorkflow;
  input: Record<string, JsonValue>;
  idempotencyKey: string | null;
  /** Hash of what the idempotency key stands for: the request as sent (workflow id or definition, and input). */
  requestHash: string;
  trace: RunTraceIdentity;
  /** When the run was submitted: the start of its `invoke_workflow` span. */
  createdAt: Date;
  deadlineAt: Date | null;
  nodes: { nodeId: string; type: string; dependsOn: string[]; maxAttempts: number }[];
}

export interface RunSummary {
  id: string;
  workflowId: string;
  status: string;
  traceId: string;
  requestHash: string | null;
}

export type CreateRunResult = { created: true; run: RunSummary } | { created: false; run: RunSummary };

export interface RunNodeView {
  nodeId: string;
  type: string;
  status: string;
  attempts: number;
  maxAttempts: number;
  output: JsonValue | null;
  error: StoredError | null;
  queuedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  spanId: string | null;
  dependsOn: string[];
  /** Model usage of the node's attempts in this run (zero for a node reused by a replay). */
  usage: { inputTokens: number; outputTokens: number; costUsd: number | null };
  /** Completed by a replay with the replayed run's output, without executing. */
  reused: boolean;
  /**
   * The node's configuration as its workflow version stores it (prompt, URL, body, ..., defaults filled in;
   * templates unrendered). The rendered values are not recorded: that would be a write per attempt on the claim path.
   * Null for a node the definition does not have.
   */
  input: JsonValue | null;
}

export interface RunView {
  id: string;
  tenantId: string;
  workflowId: string;
  workflowName: string;
  workflowVersion: number;
  status: string;
  input: JsonValue;
  output: JsonValue | null;
  error: StoredError | null;
  idempotencyKey: string | null;
  traceId: string;
  spanId: string;
  sampled: boolean;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  nodes: RunNodeView[];
  usage: { modelCalls: number; inputTokens: number; outputTokens: number; costUsd: number | null };
  /** The run this one replays, and the runs that replay this one (oldest first). */
  replayOf: string | null;
  replays: string[];
}

/** The API side of runs in Postgres: workflows, run creation with its nodes, and the read models. */
export class RunRepository {
  readonly #sql: Sql;
  readonly #tracer: Tracer;
  readonly #workflows = new Map<string, StoredWorkflow>();

  constructor(deps: { sql: Sql; tracer: Tracer }) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
  }

  /** A workflow version of the tenant's. Versions never change, so each is read from Postgres once. */
  async findWorkflow(tenantId: string, workflowId: string): Promise<StoredWorkflow | null> {
    const cached = this.#workflows.get(workflowId);
    if (cached) return cached.tenantId === tenantId ? cached : null;
    return withDbSpan(this.#tracer, 'SELECT workflows', async () => {
      const [row] = await this.#sql`
        select id, tenant_id, name, version, definition, created_at from workflows
        where id = ${workflowId} and tenant_id = ${tenantId}`;
      if (!row) return null;
      return this.#remember(toWorkflow(row));
    });
  }

  #remember(workflow: StoredWorkflow): StoredWorkflow {
    if (this.#workflows.size >= 1_000) {
      const oldest = this.#workflows.keys().next().value;
      if (oldest !== undefined) this.#workflows.delete(oldest);
    }
    this.#workflows.set(workflow.id, workflow);
    return workflow;
  }

  /**
   * Stores a validated definition as a new version of its name, unless it equals the latest version,
   * which is then returned (`created: false`), so registering the same definition twice is harmless.
   */
  registerWorkflow(
    tenantId: string,
    definition: WorkflowDefinition,
  ): Promise<{ workflow: StoredWorkflow; created: boolean }> {
    const hash = sha256(stableStringify(definition));
    return withDbSpan(this.#tracer, 'INSERT workflows', async () => {
      for (let attempt = 0; ; attempt++) {
        const [latest] = await this.#sql`
          select id, tenant_id, name, version, definition, definition_hash, created_at from workflows
          where tenant_id = ${tenantId} and name = ${definition.name}
          order by version desc limit 1`;
        if (latest && latest.definition_hash === hash)
          return { workflow: toWorkflow(latest), created: false };
        const [row] = await this.#sql`
          insert into workflows (tenant_id, name, version, definition, definition_hash)
          values (${tenantId}, ${definition.name}, ${(latest?.version ?? 0) + 1},
                  ${this.#sql.json(definition as never)}, ${hash})
          on conflict (tenant_id, name, version) do nothing
          returning id, tenant_id, name, version, definition, created_at`;
        if (row) return { workflow: toWorkflow(row), created: true };
        // Another registration took this version number first; read again.
        if (attempt >= 5)
          throw new Error(`could not register workflow "${definition.name}": too much contention`);
      }
    });
  }

  /**
   * Creates a run and all its node rows, the roots queued with their dispatches, and its `run.queued`
   * event, in one statement (atomic, one round trip). A repeated idempotency key returns the existing run.
   */
  createRun(run: NewRun, dispatches: readonly DispatchRecord[]): Promise<CreateRunResult> {
    const sql = this.#sql;
    const records = new Map(dispatches.map((r) => [r.nodeId, r]));
    const nodes = run.nodes.map((n) => {
      const record = records.get(n.nodeId);
      return {
        node_id: n.nodeId,
        type: n.type,
        status: record ? 'queued' : 'pending',
        depends_on: n.dependsOn,
        remaining_deps: n.dependsOn.length,
        max_attempts: n.maxAttempts,
        job_id: record?.jobId ?? null,
        dispatch_carrier: record?.carrier ?? null,
        queued: record !== undefined,
      };
    });
    const event = eventRows([
      {
        runId: run.id,
        tenantId: run.tenantId,
        nodeId: null,
        attempt: null,
        type: 'run.queued',
        data: { workflowId: run.workflow.id, workflowVersion: run.workflow.version },
        traceId: run.trace.traceId,
        spanId: run.trace.spanId,
      },
    ]);
    return withDbSpan(this.#tracer, 'create_run', async () => {
      const [row] = await sql`
        with inserted as (
          insert into runs (id, tenant_id, workflow_id, api_key_id, status, input, idempotency_key, request_hash,
                            trace_id, span_id, parent_span_id, trace_flags, trace_state, nodes_total,
                            deadline_at, created_at, event_seq)
          values (${run.id}, ${run.tenantId}, ${run.workflow.id}, ${run.apiKeyId}, 'queued',
                  ${sql.json(run.input as never)}, ${run.idempotencyKey}, ${run.requestHash},
                  ${run.trace.traceId}, ${run.trace.spanId}, ${run.trace.parentSpanId}, ${run.trace.traceFlags},
                  ${run.trace.traceState}, ${run.nodes.length}, ${run.deadlineAt}, ${run.createdAt}, 1)
          on conflict (tenant_id, idempotency_key) where idempotency_key is not null do nothing
          returning id, workflow_id, status, trace_id, request_hash
        ),
        node_rows as (
          insert into node_runs (run_id, node_id, type, status, depends_on, remaining_deps, max_attempts,
                                 job_id, dispatch_carrier, queued_at)
          select i.id, n.node_id, n.type, n.status::node_status,
                 array(select jsonb_array_elements_text(n.depends_on)), n.remaining_deps, n.max_attempts,
                 n.job_id, n.dispatch_carrier, case when n.queued then ${run.createdAt}::timestamptz end
          from inserted i,
               jsonb_to_recordset(${sql.json(nodes as never)}) as n(node_id text, type text, status text,
                 depends_on jsonb, remaining_deps int, max_attempts int, job_id text, dispatch_carrier jsonb,
                 queued boolean)
        ),
        events as (
          insert into event_logs (run_id, tenant_id, node_id, attempt, type, message, data, dedupe_key, trace_id,
                                  span_id, seq)
          select e.run_id, e.tenant_id, e.node_id, e.attempt, e.type, e.message, e.data, e.dedupe_key, e.trace_id,
                 e.span_id, 1
          from inserted i,
               jsonb_to_recordset(${sql.json(event as never)}) as e(run_id uuid, tenant_id uuid, node_id text,
                 attempt int, type text, message text, data jsonb, dedupe_key text, trace_id text, span_id text)
          on conflict do nothing
        )
        select (select row_to_json(i) from inserted i) as created,
               (select row_to_json(r) from (
                  select id, workflow_id, status, trace_id, request_hash from runs
                  where tenant_id = ${run.tenantId} and idempotency_key = ${run.idempotencyKey}) r) as existing`;
      if (row?.created) return { created: true as const, run: toSummary(row.created) };
      if (row?.existing) return { created: false as const, run: toSummary(row.existing) };
      // The key's first run committed after this statement began, so its snapshot could not see it.
      const existing = await this.#findByIdempotencyKey(run.tenantId, run.idempotencyKey);
      if (!existing) throw new Error('idempotent run vanished while reading it');
      return { created: false as const, run: existing };
    });
  }

  /** The tenant's run started with this idempotency key, if any. */
  findRunByIdempotencyKey(tenantId: string, idempotencyKey: string): Promise<RunSummary | null> {
    return withDbSpan(this.#tracer, 'SELECT runs', () =>
      this.#findByIdempotencyKey(tenantId, idempotencyKey),
    );
  }

  async #findByIdempotencyKey(tenantId: string, idempotencyKey: string | null): Promise<RunSummary | null> {
    const [row] = await this.#sql`
      select id, workflow_id, status, trace_id, request_hash from runs
      where tenant_id = ${tenantId} and idempotency_key = ${idempotencyKey}`;
    return row ? toSummary(row) : null;
  }

  /**
   * Runs `fn` with a repository bound to one transaction: what it writes commits together or not at all
   * (an inline workflow is registered only if its run is created). The bound repository has its own,
   * throw-away workflow cache, so a rolled-back version is never remembered.
   */
  async inTransaction<T>(fn: (repository: RunRepository) => Promise<T>): Promise<T> {
    let result: T | undefined;
    await this.#sql.begin(async (tx) => {
      result = await fn(new RunRepository({ sql: tx as unknown as Sql, tracer: this.#tracer }));
    });
    return result as T;
  }

  /** A run with its nodes and model usage; null when it does not exist for this tenant. */
  getRun(tenantId: string, runId: string): Promise<RunView | null> {
    const sql = this.#sql;
    return withDbSpan(this.#tracer, 'SELECT runs', async () => {
      const [run] = await sql`
        select r.*, w.name as workflow_name, w.version as workflow_version,
               w.definition -> 'nodes' as definition_nodes,
               array(select x.id from runs x where x.replay_of = r.id and x.tenant_id = r.tenant_id
                     order by x.created_at) as replays
        from runs r join workflows w on w.id = r.workflow_id
        where r.id = ${runId} and r.tenant_id = ${tenantId}`;
      if (!run) return null;
      const [nodes, usageRows] = await Promise.all([
        sql`select node_id, type, status, attempt, max_attempts, output, error, queued_at, started_at,
                   finished_at, span_id, depends_on, reused
            from node_runs where run_id = ${runId} order by queued_at nulls last, node_id`,
        sql`select node_id, count(*)::int as calls, coalesce(sum(input_tokens), 0)::bigint as input_tokens,
                   coalesce(sum(output_tokens), 0)::bigint as output_tokens, sum(cost_usd) as cost_usd
            from model_cost_logs where run_id = ${runId} group by node_id`,
      ]);
      const usageOf = new Map(usageRows.map((u) => [u.node_id as string, u]));
      const configOf = nodeConfigs(run.definition_nodes);
      const usage = { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: null as number | null };
      for (const u of usageRows) {
        usage.calls += u.calls;
        usage.inputTokens += Number(u.input_tokens);
        usage.outputTokens += Number(u.output_tokens);
        if (u.cost_usd !== null) usage.costUsd = (usage.costUsd ?? 0) + Number(u.cost_usd);
      }
      return {
        id: run.id,
        tenantId: run.tenant_id,
        workflowId: run.workflow_id,
        workflowName: run.workflow_name,
        workflowVersion: run.workflow_version,
        status: run.status,
        input: run.input,
        output: run.output,
        error: run.error,
        idempotencyKey: run.idempotency_key,
        traceId: run.trace_id,
        spanId: run.span_id,
        sampled: (run.trace_flags & 1) === 1,
        createdAt: run.created_at,
        startedAt: run.started_at,
        finishedAt: run.finished_at,
        nodes: nodes.map((n) => ({
          nodeId: n.node_id,
          type: n.type,
          status: n.status,
          attempts: n.attempt,
          maxAttempts: n.max_attempts,
          output: n.output,
          error: n.error,
          queuedAt: n.queued_at,
          startedAt: n.started_at,
          finishedAt: n.finished_at,
          spanId: n.span_id,
          dependsOn: n.depends_on,
          usage: nodeUsage(usageOf.get(n.node_id)),
          reused: n.reused,
          input: configOf.get(n.node_id) ?? null,
        })),
        usage: {
          modelCalls: usage.calls,
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          costUsd: usage.costUsd,
        },
        replayOf: run.replay_of,
        replays: run.replays,
      };
    });
  }

  /** A run's events in order; null when the run does not exist for this tenant. */
  listEvents(
    tenantId: string,
    runId: string,
    page: { afterSeq: number; limit: number },
  ): Promise<EventView[] | null> {
    const sql = this.#sql;
    return withDbSpan(this.#tracer, 'SELECT event_logs', async () => {
      const [run] = await sql`select 1 from runs where id = ${runId} and tenant_id = ${tenantId}`;
      if (!run) return null;
      return readRunEvents(sql, runId, page);
    });
  }
}

/** Each node's `config` by id, from a stored definition's `nodes` (validated when it was registered). */
function nodeConfigs(nodes: unknown): Map<string, JsonValue> {
  const configs = new Map<string, JsonValue>();
  if (!Array.isArray(nodes)) return configs;
  for (const node of nodes as { id?: unknown; config?: JsonValue }[]) {
    if (typeof node?.id === 'string' && node.config !== undefined) configs.set(node.id, node.config);
  }
  return configs;
}

/** A node's usage from its `model_cost_logs` totals: zero without calls, a null cost when none was priced. */
function nodeUsage(row: Record<string, unknown> | undefined): RunNodeView['usage'] {
  if (!row) return { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  return {
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: row.cost_usd === null ? null : Number(row.cost_usd),
  };
}

function toWorkflow(row: Record<string, unknown>): StoredWorkflow {
  return {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    name: row.name as string,
    version: row.version as number,
    definition: row.definition as WorkflowDefinition,
    createdAt: row.created_at as Date,
  };
}

function toSummary(row: Record<string, unknown>): RunSummary {
  return {
    id: row.id as string,
    workflowId: row.workflow_id as string,
    status: row.status as string,
    traceId: row.trace_id as string,
    requestHash: (row.request_hash as string | null) ?? null,
  };
}
