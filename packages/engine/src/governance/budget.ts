import { PermanentNodeError } from '@flowtrace/workflow';
import type { LimitName, TenantLimits } from './tenant-limits.ts';

/** A tenant's model usage so far in the current UTC day and month. */
export interface UsageTotals {
  daySpendUsd: number;
  dayTokens: number;
  monthSpendUsd: number;
  monthTokens: number;
}

/** A budget that is spent (admission) or that a call would overshoot (before a model call). */
export interface BudgetViolation {
  limit: Extract<LimitName, 'dailySpendUsd' | 'monthlySpendUsd' | 'dailyTokens' | 'monthlyTokens'>;
  limitValue: number;
  used: number;
  /** What the call would add (0 at admission). */
  requested: number;
  /** When the budget's period starts again (ISO, UTC). */
  resetsAt: string;
  /** Set when the call's model has no price, so a spend budget cannot be kept. */
  unpriced?: true;
}

/** The start of the UTC day and month that `now` falls in, and of the next ones. */
export function periodsOf(now: Date): { day: string; monthStart: string; nextDay: Date; nextMonth: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  return {
    day: new Date(Date.UTC(y, m, d)).toISOString().slice(0, 10),
    monthStart: new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10),
    nextDay: new Date(Date.UTC(y, m, d + 1)),
    nextMonth: new Date(Date.UTC(y, m + 1, 1)),
  };
}

/**
 * The first budget broken. At admission (`add` absent) a budget is broken once it is used up; before a
 * model call, when the call's estimate would take usage past it. A model without a price breaks any spend
 * budget: its cost cannot be counted.
 */
export function budgetViolation(
  limits: TenantLimits,
  usage: UsageTotals,
  now: Date,
  add?: { spendUsd: number | null; tokens: number },
): BudgetViolation | null {
  const { nextDay, nextMonth } = periodsOf(now);
  const checks: [BudgetViolation['limit'], number, number | null, Date][] = [
    ['dailySpendUsd', usage.daySpendUsd, add ? add.spendUsd : 0, nextDay],
    ['monthlySpendUsd', usage.monthSpendUsd, add ? add.spendUsd : 0, nextMonth],
    ['dailyTokens', usage.dayTokens, add ? add.tokens : 0, nextDay],
    ['monthlyTokens', usage.monthTokens, add ? add.tokens : 0, nextMonth],
  ];
  for (const [limit, used, requested, resets] of checks) {
    const limitValue = limits[limit];
    if (limitValue === null) continue;
    const base = { limit, limitValue, used: round(used), resetsAt: resets.toISOString() };
    if (requested === null) return { ...base, requested: 0, unpriced: true };
    const broken = add === undefined ? used >= limitValue : used + requested > limitValue;
    if (broken) return { ...base, requested: round(requested) };
  }
  return null;
}

/** Whether any of the four usage budgets is set (only then are model calls reserved). */
export function hasUsageBudget(limits: TenantLimits): boolean {
  return (
    limits.dailySpendUsd !== null ||
    limits.monthlySpendUsd !== null ||
    limits.dailyTokens !== null ||
    limits.monthlyTokens !== null
  );
}

const UNITS: Record<BudgetViolation['limit'], (n: number) => string> = {
  dailySpendUsd: (n) => `$${n}`,
  monthlySpendUsd: (n) => `$${n}`,
  dailyTokens: (n) => `${n} tokens`,
  monthlyTokens: (n) => `${n} tokens`,
};

/** A sentence that names the budget, the numbers and when it resets. */
export function describeViolation(v: BudgetViolation, what: 'run' | 'call'): string {
  const unit = UNITS[v.limit];
  if (v.unpriced) {
    return `the tenant's ${v.limit} budget cannot be enforced for a model without a price; add its price (FLOWTRACE_PRICING or model_prices) or remove the budget`;
  }
  const head = `the tenant's ${v.limit} budget of ${unit(v.limitValue)} `;
  return what === 'run'
    ? `${head}is used up (${unit(v.used)} used); it resets at ${v.resetsAt}`
    : `${head}would be exceeded by this model call (${unit(v.used)} used, the call may take ${unit(v.requested)}); it resets at ${v.resetsAt}`;
}

/** The error a node fails with when a model call would break a budget (permanent: a retry would too). */
export function budgetError(v: BudgetViolation, nodeId: string): PermanentNodeError {
  return new PermanentNodeError('budget_exceeded', describeViolation(v, 'call'), {
    nodeId,
    details: { scope: 'tenant', ...v },
  });
}

function round(n: number): number {
  return Math.round(n * 1e10) / 1e10;
}
