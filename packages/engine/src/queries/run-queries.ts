import type { RunStatus, Sql } from '@flowtrace/db';
import type { JsonValue } from '@flowtrace/workflow';
import type { Tracer } from '@opentelemetry/api';
import { TERMINAL_EVENT_TYPES } from '../events/run-event-reader.ts';
import { withDbSpan } from '../tracing/db-span.ts';
import { encodeRunListCursor, type RunListCursor } from './run-list-cursor.ts';

export interface RunListFilter {
  statuses?: readonly RunStatus[];
  workflowId?: string;
  workflowName?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  /** Continue after this position (from a previous page). */
  after?: RunListCursor;
  limit: number;
}

export interface RunListItem {
  id: string;
  workflowId: string;
  workflowName: string;
  workflowVersion: number;
  status: RunStatus;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  traceId: string;
  usage: { modelCalls: number; inputTokens: number; outputTokens: number; costUsd: number | null };
  replayOf: string | null;
}

/** One row of `agent_trace_history`: a step of an agent loop. */
export interface StepView {
  nodeId: string;
  attempt: number;
  step: number;
  /** `tool_call` when the model called a tool in this step, `message` when it answered. */
  kind: 'tool_call' | 'message';
  /** The model's text for the step (stored only when content capture allows), else null. */
  content: string | null;
  toolName: string | null;
  toolCallId: string | null;
  toolInput: JsonValue | null;
  observation: JsonValue | null;
  isError: boolean;
  inputTokens: number;
  outputTokens: number;
  traceId: string;
  spanId: string | null;
  createdAt: Date;
}

/** What a live stream needs to know about a run before it follows it. */
export interface RunStreamState {
  status: RunStatus;
  /** The `seq` of the run's terminal event, once it has one. */
  terminalSeq: number | null;
}

/** Read models of the run console: the runs list, a run's agent steps, and a run's stream position. */
export class RunQueries {
  readonly #sql: Sql;
  readonly #tracer: Tracer;

  constructor(deps: { sql: Sql; tracer: Tracer }) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
  }

  /** A tenant's runs, newest first, with the cursor of the next page (null on the last page). */
  listRuns(tenantId: string, filter: RunListFilter): Promise<{ runs: RunListItem[]; next: string | null }> {
    const sql = this.#sql;
    const where = [sql`r.tenant_id = ${tenantId}`];
    if (filter.statuses && filter.statuses.length > 0)
      where.push(sql`r.status = any(${filter.statuses as string[]}::run_status[])`);
    if (filter.workflowId) where.push(sql`r.workflow_id = ${filter.workflowId}`);
    if (filter.workflowName) where.push(sql`w.name = ${filter.workflowName}`);
    if (filter.createdAfter) where.push(sql`r.created_at >= ${filter.createdAfter}`);
    if (filter.createdBefore) where.push(sql`r.created_at < ${filter.createdBefore}`);
    if (filter.after)
      where.push(
        sql`(r.created_at, r.id) < (${filter.after.createdAt}::timestamptz, ${filter.after.id}::uuid)`,
      );
    const condition = where.reduce((all, part) => sql`${all} and ${part}`);
    return withDbSpan(this.#tracer, 'SELECT runs', async () => {
      const rows = await sql`
        select r.id, r.workflow_id, w.name as workflow_name, w.version as workflow_version, r.status,
               r.created_at, r.started_at, r.finished_at, r.trace_id, r.replay_of,
               u.calls, u.input_tokens, u.output_tokens, u.cost_usd
        from runs r
        join workflows w on w.id = r.workflow_id
        cross join lateral (
          select count(*)::int as calls, coalesce(sum(input_tokens), 0)::bigint as input_tokens,
                 coalesce(sum(output_tokens), 0)::bigint as output_tokens, sum(cost_usd) as cost_usd
          from model_cost_logs c where c.run_id = r.id) u
        where ${condition}
        order by r.created_at desc, r.id desc
        limit ${filter.limit + 1}`;
      const page = rows.slice(0, filter.limit).map(
        (r): RunListItem => ({
          id: r.id,
          workflowId: r.workflow_id,
          workflowName: r.workflow_name,
          workflowVersion: r.workflow_version,
          status: r.status,
          createdAt: r.created_at,
          startedAt: r.started_at,
          finishedAt: r.finished_at,
          traceId: r.trace_id,
          replayOf: r.replay_of,
          usage: {
            modelCalls: r.calls,
            inputTokens: Number(r.input_tokens),
            outputTokens: Number(r.output_tokens),
            costUsd: r.cost_usd === null ? null : Number(r.cost_usd),
          },
        }),
      );
      const last = page.at(-1);
      return {
        runs: page,
        next:
          rows.length > filter.limit && last
            ? encodeRunListCursor({ createdAt: last.createdAt, id: last.id })
            : null,
      };
    });
  }

  /** A run's agent steps in order; null when the run does not exist for this tenant. */
  listSteps(tenantId: string, runId: string): Promise<StepView[] | null> {
    const sql = this.#sql;
    return withDbSpan(this.#tracer, 'SELECT agent_trace_history', async () => {
      const [run] = await sql`select 1 from runs where id = ${runId} and tenant_id = ${tenantId}`;
      if (!run) return null;
      const rows = await sql`
        select node_id, attempt, step, thought, tool_name, tool_call_id, tool_input, observation, is_error,
               input_tokens, output_tokens, trace_id, span_id, created_at
        from agent_trace_history where run_id = ${runId} and tenant_id = ${tenantId}
        order by created_at, node_id, attempt, step`;
      return rows.map((s) => ({
        nodeId: s.node_id,
        attempt: s.attempt,
        step: s.step,
        kind: s.tool_name === null ? 'message' : 'tool_call',
        content: s.thought,
        toolName: s.tool_name,
        toolCallId: s.tool_call_id,
        toolInput: s.tool_input,
        observation: s.observation,
        isError: s.is_error,
        inputTokens: s.input_tokens,
        outputTokens: s.output_tokens,
        traceId: s.trace_id,
        spanId: s.span_id,
        createdAt: s.created_at,
      }));
    });
  }

  /** The run's status and terminal event position; null when it does not exist for this tenant. */
  async streamState(tenantId: string, runId: string): Promise<RunStreamState | null> {
    const [row] = await this.#sql`
      select r.status,
             (select max(e.seq) from event_logs e
              where e.run_id = r.id and e.type = any(${[...TERMINAL_EVENT_TYPES]}::text[])) as terminal_seq
      from runs r where r.id = ${runId} and r.tenant_id = ${tenantId}`;
    return row ? { status: row.status, terminalSeq: row.terminal_seq ?? null } : null;
  }
}
