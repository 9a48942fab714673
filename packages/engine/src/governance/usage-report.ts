import type { Sql } from '@flowtrace/db';

/** What usage rows can be grouped by. */
export const USAGE_DIMENSIONS = ['day', 'workflow', 'provider', 'model'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export interface UsageRow {
  /** UTC day (`YYYY-MM-DD`), when grouped by day. */
  day?: string;
  /** When grouped by workflow: null for calls outside a run (document ingestion). */
  workflowId?: string | null;
  workflowName?: string | null;
  provider?: string;
  model?: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** USD of the priced calls. */
  costUsd: number;
  /** Calls whose model had no price (their tokens count, their cost is unknown). */
  unpricedCalls: number;
}

export interface UsageReportQuery {
  tenantId: string;
  /** First UTC day, inclusive (`YYYY-MM-DD`). */
  from: string;
  /** Last UTC day, inclusive. */
  to: string;
  groupBy: readonly UsageDimension[];
  limit: number;
}

const COLUMNS: Record<UsageDimension, string[]> = {
  day: ["(m.created_at at time zone 'utc')::date::text as day"],
  workflow: ['r.workflow_id as workflow_id', 'w.name as workflow_name'],
  provider: ['m.provider as provider'],
  model: ['m.request_model as model'],
};
const GROUP: Record<UsageDimension, string[]> = {
  day: ["(m.created_at at time zone 'utc')::date"],
  workflow: ['r.workflow_id', 'w.name'],
  provider: ['m.provider'],
  model: ['m.request_model'],
};

interface RawRow {
  day?: string;
  workflow_id?: string | null;
  workflow_name?: string | null;
  provider?: string;
  model?: string;
  calls: number;
  input_tokens: string;
  output_tokens: string;
  cost_usd: string | null;
  unpriced_calls: number;
}

/**
 * A tenant's model usage from the ledger (`model_cost_logs`), by UTC day, workflow, provider and model (or
 * any subset). Every recorded call counts: calls of lost attempts (they were paid for), ingestion's
 * embeddings, and calls still in flight or abandoned at their reserved estimate.
 */
export class UsageReport {
  readonly #sql: Sql;

  constructor(deps: { sql: Sql }) {
    this.#sql = deps.sql;
  }

  async query(query: UsageReportQuery): Promise<{ rows: UsageRow[]; totals: UsageRow; truncated: boolean }> {
    // Only names from the fixed maps above reach the SQL text.
    const dims = USAGE_DIMENSIONS.filter((d) => query.groupBy.includes(d));
    const [rows, [totals]] = await Promise.all([
      this.#rows(query, dims, query.limit + 1),
      this.#rows(query, [], 1),
    ]);
    return {
      rows: rows.slice(0, query.limit).map((row) => toUsageRow(row, dims)),
      totals: toUsageRow(totals as RawRow, []),
      truncated: rows.length > query.limit,
    };
  }

  #rows(query: UsageReportQuery, dims: readonly UsageDimension[], limit: number): Promise<RawRow[]> {
    const sql = this.#sql;
    const group = dims.flatMap((d) => GROUP[d]);
    const select = [
      ...dims.flatMap((d) => COLUMNS[d]),
      'count(*)::int as calls',
      'coalesce(sum(m.input_tokens), 0)::text as input_tokens',
      'coalesce(sum(m.output_tokens), 0)::text as output_tokens',
      'sum(m.cost_usd)::text as cost_usd',
      'count(*) filter (where m.cost_usd is null)::int as unpriced_calls',
    ].join(', ');
    const grouping = group.length > 0 ? `group by ${group.join(', ')} order by ${group.join(', ')}` : '';
    return sql<RawRow[]>`
      select ${sql.unsafe(select)}
      from model_cost_logs m
      left join runs r on r.id = m.run_id
      left join workflows w on w.id = r.workflow_id
      where m.tenant_id = ${query.tenantId}
        and m.created_at >= (${query.from}::date)::timestamp at time zone 'utc'
        and m.created_at < ((${query.to}::date + 1)::timestamp at time zone 'utc')
      ${sql.unsafe(grouping)}
      limit ${limit}`;
  }
}

function toUsageRow(row: RawRow, dims: readonly UsageDimension[]): UsageRow {
  return {
    ...(dims.includes('day') ? { day: row.day as string } : {}),
    ...(dims.includes('workflow')
      ? { workflowId: row.workflow_id ?? null, workflowName: row.workflow_name ?? null }
      : {}),
    ...(dims.includes('provider') ? { provider: row.provider as string } : {}),
    ...(dims.includes('model') ? { model: row.model as string } : {}),
    calls: row.calls,
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: round(Number(row.cost_usd ?? 0)),
    unpricedCalls: row.unpriced_calls,
  };
}

function round(n: number): number {
  return Math.round(n * 1e10) / 1e10;
}
