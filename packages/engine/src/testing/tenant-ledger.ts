import { randomUUID } from 'node:crypto';
import type { Sql } from '@flowtrace/db';

/**
 * Test support: a tenant with one workflow and one run (the rows a ledger row needs), written straight to
 * Postgres, and the tenant's day counters next to the sums of its ledger rows.
 */
export async function createTenantWithRun(sql: Sql, name = `tenant-${randomUUID().slice(0, 8)}`) {
  const [tenant] = await sql<{ id: string }[]>`insert into tenants (name) values (${name}) returning id`;
  const tenantId = (tenant as { id: string }).id;
  const [workflow] = await sql<{ id: string }[]>`
    insert into workflows (tenant_id, name, version, definition, definition_hash)
    values (${tenantId}, 'w', 1, ${sql.json({ name: 'w', nodes: [] })}, ${randomUUID()}) returning id`;
  const workflowId = (workflow as { id: string }).id;
  const newRun = async () => {
    const runId = randomUUID();
    await sql`
      insert into runs (id, tenant_id, workflow_id, status, input, trace_id, span_id, trace_flags, nodes_total, created_at)
      values (${runId}, ${tenantId}, ${workflowId}, 'running', ${sql.json({})}, ${'a'.repeat(32)}, ${'b'.repeat(16)}, 1, 1, now())`;
    return runId;
  };
  return { tenantId, workflowId, runId: await newRun(), newRun };
}

/** Today's counter and the sum of the tenant's ledger rows of today: the spend ledger keeps them equal. */
export async function countersAndRows(sql: Sql, tenantId: string) {
  const [row] = await sql<
    { counter_spend: string | null; counter_tokens: string | null; rows_spend: string; rows_tokens: string }[]
  >`
    select (select spend_usd from tenant_usage_daily where tenant_id = ${tenantId}
              and day = (now() at time zone 'utc')::date) as counter_spend,
           (select tokens from tenant_usage_daily where tenant_id = ${tenantId}
              and day = (now() at time zone 'utc')::date) as counter_tokens,
           (select coalesce(sum(cost_usd), 0) from model_cost_logs where tenant_id = ${tenantId}) as rows_spend,
           (select coalesce(sum(input_tokens + output_tokens), 0) from model_cost_logs
              where tenant_id = ${tenantId}) as rows_tokens`;
  return {
    counterSpend: Number(row?.counter_spend ?? 0),
    counterTokens: Number(row?.counter_tokens ?? 0),
    rowsSpend: Number(row?.rows_spend ?? 0),
    rowsTokens: Number(row?.rows_tokens ?? 0),
  };
}
