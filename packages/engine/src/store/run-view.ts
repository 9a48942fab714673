import type { Sql } from '@flowtrace/db';
import type { JsonValue } from '@flowtrace/workflow';
import type { StoredError } from './types.ts';

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

/** A run with its nodes and model usage; null when it does not exist for this tenant. */
export async function readRunView(sql: Sql, tenantId: string, runId: string): Promise<RunView | null> {
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
