import type { Sql } from '@flowtrace/db';
import { z } from 'zod';

/**
 * A tenant's budgets and quotas; null means no limit. Spend and tokens count model calls (chat and
 * embeddings, ingestion included) per UTC day and per UTC calendar month.
 */
export interface TenantLimits {
  dailySpendUsd: number | null;
  monthlySpendUsd: number | null;
  dailyTokens: number | null;
  monthlyTokens: number | null;
  /** Run submissions per minute (a token bucket: bursts up to this many, refilled evenly). */
  runsPerMinute: number | null;
  /** Runs queued or running at once. */
  maxConcurrentRuns: number | null;
  /** Nodes handed to the queues and not finished; the rest wait in Postgres (fair scheduling). */
  maxInflightNodes: number | null;
}

export type LimitName = keyof TenantLimits;

export const LIMIT_NAMES: readonly LimitName[] = [
  'dailySpendUsd',
  'monthlySpendUsd',
  'dailyTokens',
  'monthlyTokens',
  'runsPerMinute',
  'maxConcurrentRuns',
  'maxInflightNodes',
];

/** Who set a row of limits: the operator (a ceiling) or the tenant itself (at most the operator's). */
export type LimitScope = 'operator' | 'tenant';

export const NO_LIMITS: TenantLimits = Object.freeze({
  dailySpendUsd: null,
  monthlySpendUsd: null,
  dailyTokens: null,
  monthlyTokens: null,
  runsPerMinute: null,
  maxConcurrentRuns: null,
  maxInflightNodes: null,
});

const usd = z.number().positive().max(1e12);
const count = (max: number) => z.number().int().min(1).max(max);

/** One scope's limits as the API and the CLI accept them: every field optional, null or absent = none. */
export const tenantLimitsSchema = z
  .object({
    dailySpendUsd: usd.nullable().optional(),
    monthlySpendUsd: usd.nullable().optional(),
    dailyTokens: count(1e15).nullable().optional(),
    monthlyTokens: count(1e15).nullable().optional(),
    runsPerMinute: count(1_000_000).nullable().optional(),
    maxConcurrentRuns: count(1_000_000).nullable().optional(),
    maxInflightNodes: count(1_000_000).nullable().optional(),
  })
  .strict()
  .transform((value): TenantLimits => ({ ...NO_LIMITS, ...dropUndefined(value) }));

/** The fields that are set: spread over defaults, an absent field keeps the default. */
function dropUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** The lower of two limits, null meaning none. */
function lower(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** The limits that apply: the stricter of the operator's and the tenant's for each. */
export function effectiveLimits(operator: TenantLimits, tenant: TenantLimits): TenantLimits {
  const out = { ...NO_LIMITS };
  for (const name of LIMIT_NAMES) out[name] = lower(operator[name], tenant[name]);
  return out;
}

export function hasAnyLimit(limits: TenantLimits): boolean {
  return LIMIT_NAMES.some((name) => limits[name] !== null);
}

/** The limits a tenant tried to set above the operator's ceiling, with that ceiling. */
export function aboveCeiling(
  operator: TenantLimits,
  requested: TenantLimits,
): { limit: LimitName; requested: number | null; ceiling: number }[] {
  const problems: { limit: LimitName; requested: number | null; ceiling: number }[] = [];
  for (const name of LIMIT_NAMES) {
    const ceiling = operator[name];
    if (ceiling === null) continue;
    const value = requested[name];
    // No limit of the tenant's own is fine: the operator's ceiling still applies.
    if (value !== null && value > ceiling) problems.push({ limit: name, requested: value, ceiling });
  }
  return problems;
}

export interface TenantLimitsView {
  operator: TenantLimits;
  tenant: TenantLimits;
  effective: TenantLimits;
}

interface LimitsRow {
  scope: string;
  daily_spend_usd: string | null;
  monthly_spend_usd: string | null;
  daily_tokens: string | number | null;
  monthly_tokens: string | number | null;
  runs_per_minute: number | null;
  max_concurrent_runs: number | null;
  max_inflight_nodes: number | null;
}

const num = (value: string | number | null) => (value === null ? null : Number(value));

function fromRow(row: LimitsRow | undefined): TenantLimits {
  if (!row) return { ...NO_LIMITS };
  return {
    dailySpendUsd: num(row.daily_spend_usd),
    monthlySpendUsd: num(row.monthly_spend_usd),
    dailyTokens: num(row.daily_tokens),
    monthlyTokens: num(row.monthly_tokens),
    runsPerMinute: row.runs_per_minute,
    maxConcurrentRuns: row.max_concurrent_runs,
    maxInflightNodes: row.max_inflight_nodes,
  };
}

/**
 * Tenant limits in Postgres (`tenant_limits`), read through a short cache: every admission and every
 * model call asks, and a change takes effect within `cacheTtlMs` in every process.
 */
export class TenantLimitsStore {
  readonly #sql: Sql;
  readonly #cacheTtlMs: number;
  readonly #cache = new Map<string, { view: Promise<TenantLimitsView>; expiresAt: number }>();

  constructor(deps: { sql: Sql }, options: { cacheTtlMs?: number } = {}) {
    this.#sql = deps.sql;
    this.#cacheTtlMs = options.cacheTtlMs ?? 2_000;
  }

  /** The limits in effect for a tenant (cached). */
  async effective(tenantId: string): Promise<TenantLimits> {
    return (await this.view(tenantId)).effective;
  }

  /** Both scopes and the effective limits (cached). */
  view(tenantId: string): Promise<TenantLimitsView> {
    const now = Date.now();
    const cached = this.#cache.get(tenantId);
    if (cached && cached.expiresAt > now) return cached.view;
    const view = this.#read(tenantId);
    this.#cache.set(tenantId, { view, expiresAt: now + this.#cacheTtlMs });
    // A failed read is not cached.
    view.catch(() => this.#cache.delete(tenantId));
    if (this.#cache.size > 10_000) this.#cache.delete(this.#cache.keys().next().value as string);
    return view;
  }

  /** Reads both scopes from Postgres, bypassing the cache. */
  async read(tenantId: string): Promise<TenantLimitsView> {
    return this.#read(tenantId);
  }

  async #read(tenantId: string): Promise<TenantLimitsView> {
    const rows = await this.#sql<LimitsRow[]>`
      select scope, daily_spend_usd, monthly_spend_usd, daily_tokens, monthly_tokens, runs_per_minute,
             max_concurrent_runs, max_inflight_nodes
      from tenant_limits where tenant_id = ${tenantId}`;
    const operator = fromRow(rows.find((r) => r.scope === 'operator'));
    const tenant = fromRow(rows.find((r) => r.scope === 'tenant'));
    return { operator, tenant, effective: effectiveLimits(operator, tenant) };
  }

  /** Replaces one scope's limits (all null removes the row). */
  async set(tenantId: string, scope: LimitScope, limits: TenantLimits): Promise<TenantLimitsView> {
    if (!hasAnyLimit(limits)) {
      await this.#sql`delete from tenant_limits where tenant_id = ${tenantId} and scope = ${scope}`;
    } else {
      await this.#sql`
        insert into tenant_limits (tenant_id, scope, daily_spend_usd, monthly_spend_usd, daily_tokens,
          monthly_tokens, runs_per_minute, max_concurrent_runs, max_inflight_nodes, updated_at)
        values (${tenantId}, ${scope}, ${limits.dailySpendUsd}, ${limits.monthlySpendUsd}, ${limits.dailyTokens},
          ${limits.monthlyTokens}, ${limits.runsPerMinute}, ${limits.maxConcurrentRuns}, ${limits.maxInflightNodes},
          now())
        on conflict (tenant_id, scope) do update set
          daily_spend_usd = excluded.daily_spend_usd, monthly_spend_usd = excluded.monthly_spend_usd,
          daily_tokens = excluded.daily_tokens, monthly_tokens = excluded.monthly_tokens,
          runs_per_minute = excluded.runs_per_minute, max_concurrent_runs = excluded.max_concurrent_runs,
          max_inflight_nodes = excluded.max_inflight_nodes, updated_at = now()`;
    }
    this.#cache.delete(tenantId);
    return this.#read(tenantId);
  }

  /** Tenants with an in-flight node limit, for the sweeper that releases held nodes. */
  async tenantsWithInflightLimit(): Promise<string[]> {
    const rows = await this.#sql<{ tenant_id: string }[]>`
      select distinct tenant_id from tenant_limits where max_inflight_nodes is not null`;
    return rows.map((r) => r.tenant_id);
  }

  /** Forgets cached limits (tests, and after an operator change in this process). */
  invalidate(tenantId?: string): void {
    if (tenantId === undefined) this.#cache.clear();
    else this.#cache.delete(tenantId);
  }
}
