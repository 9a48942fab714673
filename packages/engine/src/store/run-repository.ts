import { type Sql, transaction } from '@flowtrace/db';
import type { JsonValue, WorkflowDefinition } from '@flowtrace/workflow';
import type { Tracer } from '@opentelemetry/api';
import { type EventView, readRunEvents } from '../events/run-event-reader.ts';
import { withDbSpan } from '../tracing/db-span.ts';
import type { DispatchRecord } from './finish-node.ts';
import { eventRows } from './ledger-rows.ts';
import { type RunView, readRunView } from './run-view.ts';
import { sha256, stableStringify } from './stable-json.ts';
import type { RunTraceIdentity } from './types.ts';
import { NO_BATCHING, WriteBatcher, type WriteBatcherOptions } from './write-batcher.ts';

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

/** The API side of runs in Postgres: workflows, run creation with its nodes, and the read models. */
export class RunRepository {
  readonly #sql: Sql;
  readonly #tracer: Tracer;
  readonly #workflows = new Map<string, StoredWorkflow>();
  readonly #creates: WriteBatcher;

  /** With `batching`, runs submitted at the same time are created together (`WriteBatcher`). */
  constructor(deps: { sql: Sql; tracer: Tracer; batching?: WriteBatcherOptions }) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
    this.#creates = new WriteBatcher(deps, 'create_run', deps.batching ?? NO_BATCHING);
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
    const create = async (db: Sql): Promise<CreateRunResult> => {
      const [row] = await db`
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
    };
    // Batched in the order of idempotency keys: two batches inserting the same keys wait on each other's
    // unique-index entries in one order.
    const key = run.idempotencyKey === null ? `~${run.id}` : `${run.tenantId}:${run.idempotencyKey}`;
    return withDbSpan(this.#tracer, 'create_run', () => this.#creates.write(key, create));
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
    await transaction(this.#sql, async (tx) => {
      result = await fn(new RunRepository({ sql: tx as unknown as Sql, tracer: this.#tracer }));
    });
    return result as T;
  }

  /** A run with its nodes and model usage; null when it does not exist for this tenant. */
  getRun(tenantId: string, runId: string): Promise<RunView | null> {
    return withDbSpan(this.#tracer, 'SELECT runs', () => readRunView(this.#sql, tenantId, runId));
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
