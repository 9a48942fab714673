import { sql } from 'drizzle-orm';
import {
  bigint,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { runs } from './runs.ts';
import { tenants } from './tenants.ts';

/**
 * A tenant's budgets and quotas. Two rows at most per tenant: `operator` (set with `npm run tenant`, a
 * ceiling the tenant cannot lift) and `tenant` (set by the tenant itself with `PUT /v1/tenant/limits`, at
 * most the operator's). The effective limit is the lower of the two; null means no limit. A tenant with
 * no rows has no limits at all.
 */
export const tenantLimits = pgTable(
  'tenant_limits',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** `operator` or `tenant`. */
    scope: text('scope').notNull(),
    dailySpendUsd: numeric('daily_spend_usd', { precision: 20, scale: 6 }),
    monthlySpendUsd: numeric('monthly_spend_usd', { precision: 20, scale: 6 }),
    dailyTokens: bigint('daily_tokens', { mode: 'number' }),
    monthlyTokens: bigint('monthly_tokens', { mode: 'number' }),
    runsPerMinute: integer('runs_per_minute'),
    maxConcurrentRuns: integer('max_concurrent_runs'),
    maxInflightNodes: integer('max_inflight_nodes'),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.scope] })],
);

/**
 * A tenant's model spend and tokens per UTC day, kept in step with `model_cost_logs` by the statements
 * that write it: a reserved call counts its estimate until it settles at its actual usage. Budgets are
 * checked against it (a month is the sum of its days), under a lock on the day's row.
 */
export const tenantUsageDaily = pgTable(
  'tenant_usage_daily',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    day: date('day', { mode: 'string' }).notNull(),
    spendUsd: numeric('spend_usd', { precision: 24, scale: 10 }).notNull().default('0'),
    tokens: bigint('tokens', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.day] })],
);

/**
 * Nodes of a tenant with `maxInflightNodes` that have been handed to the queue and not finished yet.
 * Rows of nodes that finished without removing theirs (a crash) are pruned against `node_runs`.
 */
export const inflightNodes = pgTable(
  'inflight_nodes',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    tenantId: uuid('tenant_id').notNull(),
    since: timestamp('since', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.nodeId] }), index('inflight_nodes_tenant_idx').on(t.tenantId)],
);

/**
 * Ready nodes held back because their tenant had `maxInflightNodes` in flight: the prepared BullMQ job,
 * released oldest first as the tenant's nodes finish. A held node stays `queued` in `node_runs` with a
 * null `queued_at`, so that the reconciler does not take it for a lost job.
 */
export const heldNodes = pgTable(
  'held_nodes',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    tenantId: uuid('tenant_id').notNull(),
    /** The node job (type, data, options) as the dispatcher prepared it. */
    job: jsonb('job').notNull(),
    heldAt: timestamp('held_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.nodeId] }),
    index('held_nodes_tenant_held_idx').on(t.tenantId, t.heldAt),
  ],
);

/**
 * Model prices with the date from which they apply, overriding the built-in table and `FLOWTRACE_PRICING`
 * from that moment on. Rows are never updated in place: a price change is a new row with a later date, so
 * the price behind any past cost row can be looked up again.
 */
export const modelPrices = pgTable(
  'model_prices',
  {
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    /** `exact` or `prefix` (see the pricing table). */
    match: text('match').notNull().default('exact'),
    effectiveFrom: timestamp('effective_from', { withTimezone: true, precision: 3 }).notNull(),
    /** USD per 1M tokens. */
    input: numeric('input', { precision: 14, scale: 6 }).notNull(),
    output: numeric('output', { precision: 14, scale: 6 }).notNull(),
    cachedInput: numeric('cached_input', { precision: 14, scale: 6 }),
    cacheWrite: numeric('cache_write', { precision: 14, scale: 6 }),
    reasoning: numeric('reasoning', { precision: 14, scale: 6 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.provider, t.model, t.match, t.effectiveFrom] })],
);
